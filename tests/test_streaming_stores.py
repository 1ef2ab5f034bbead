"""dx large enough to be written with streaming (non-temporal) stores.

From the size the library reports (`stream_dx_bytes`, 8 MB), the CPU engine
writes float32 and float64 dx with the micro-kernel's non-temporal stores:
whole tiles whose pixels start on cache lines take them, every other tile
(channel tails, pixels not line-aligned, grouped channel offsets) the plain
stores. These cases are the smallest that cross that size, one per kind of
tile, checked against TF's built-in op (or the NumPy reference where TF's CPU
kernel refuses the configuration) like every other case.
"""
import numpy as np
import pytest

from tf_custom_op import _loader
from support.cases import Case
from support.compare import check_case

_REPORT = _loader.cpu_kernel_report()
_ITEM_BYTES = {"float32": 4, "float64": 8}


def _rows_for(dtype, width, depth):
    """Rows that make a [1, rows, width, depth] dx cross the streaming size."""
    row_bytes = width * depth * _ITEM_BYTES[dtype]
    return -(-_REPORT["stream_dx_bytes"] // row_bytes) + 1


# (name, dtype, width, C, C_g, K, filter, stride, padding)
_CASES = [
    # Pixels 64 B apart per 16 channels: every full tile is streamed.
    ("lines_3x3", "float32", 64, 256, 256, 8, (3, 3), (1, 1), "SAME"),
    ("lines_1x1", "float32", 64, 256, 256, 16, (1, 1), (1, 1), "VALID"),
    # Phases: pixels of a tile are stride x C apart.
    ("lines_4x4_stride2", "float32", 64, 128, 128, 8, (4, 4), (2, 2), "SAME"),
    # C not a multiple of 16: rows start off the lines, plain stores, and a
    # channel tail in every block sweep.
    ("off_lines", "float32", 61, 200, 200, 8, (3, 3), (1, 1), "SAME"),
    # Groups: each group's channels start at g * C_g.
    ("groups", "float32", 64, 256, 128, 8, (3, 3), (1, 1), "SAME"),
    ("lines_float64", "float64", 64, 128, 128, 8, (3, 3), (1, 1), "SAME"),
]


def test_report_names_the_streaming_size():
    assert _REPORT["stream_dx_bytes"] > 0
    for dtype in ("bfloat16", "float16"):
        # Their dx is converted from float rows staged per row: never streamed.
        assert _REPORT["kernels"][dtype]["streams"] is False


@pytest.mark.parametrize("name,dtype,width,depth,filter_depth,out_depth,window,stride,padding",
                         _CASES, ids=[c[0] for c in _CASES])
def test_large_dx_matches(name, dtype, width, depth, filter_depth, out_depth, window, stride,
                          padding):
    rows = _rows_for(dtype, width, depth)
    case = Case(dtype=dtype, data_format="NHWC", batch=1, in_h=rows, in_w=width,
                in_depth=depth, filter_depth=filter_depth, out_depth=out_depth,
                k_h=window[0], k_w=window[1], stride=stride, dilation=(1, 1),
                padding=padding, seed=11)
    assert np.prod(case.dx_shape()) * _ITEM_BYTES[dtype] >= _REPORT["stream_dx_bytes"]
    compared = check_case(case)
    assert compared == ("ref" if filter_depth < depth else "tf"), compared
