"""The op's dtypes, the one list of them in Python (NumPy names, in the order
of the C++ list cc/kernels/op_dtypes.h, which the library reports:
tests/test_dtype_lists.py checks that the two agree). Plain Python without
TensorFlow, so that tools can load it from its file.
"""

# name -> bytes per element
_BYTES = {
    "float16": 2,
    "bfloat16": 2,
    "float32": 4,
    "float64": 8,
    "int32": 4,
}

NAMES = tuple(_BYTES)
FLOATING = tuple(name for name in NAMES if name.startswith(("float", "bfloat")))
# 16-bit types computed in float32 and rounded once on the way out.
HALF_WIDTH = tuple(name for name in NAMES if _BYTES[name] == 2)


def element_bytes(name):
    """Bytes per element of dtype `name` (a NumPy name of NAMES)."""
    return _BYTES[name]
