"""Which algorithm the CPU kernel may use: a scoped setting.

    with tf_custom_op.algorithm("direct"):
        dx = tf_custom_op.conv2d_backprop_input(...)   # direct convolution only

"auto" (the default) lets the kernel pick per shape: Winograd where it is
chosen (fewer multiplications, a documented error bound: docs/CONTRACT.md),
direct convolution elsewhere. "direct" forces direct convolution, "winograd"
uses Winograd wherever the shape allows it. The setting is read when the op is
built (per eager call, per trace of a tf.function) and stored in the op's
`algorithm` attribute, so a traced function keeps the setting it was traced
under. Where the attribute is "auto", the environment variable
TF_CUSTOM_OP_ALGORITHM (auto, direct or winograd) decides for the whole
process. The GPU kernel is direct whatever the setting.
"""
import contextlib
import threading

NAMES = ("auto", "direct", "winograd")

_state = threading.local()


def current_algorithm():
    """The innermost `algorithm(...)` setting of this thread, or "auto"."""
    stack = getattr(_state, "stack", None)
    return stack[-1] if stack else "auto"


@contextlib.contextmanager
def algorithm(name):
    """Ops built inside use algorithm `name` ("auto", "direct" or "winograd")."""
    if name not in NAMES:
        raise ValueError(f"tf_custom_op.algorithm: {name!r} is not one of {', '.join(NAMES)}")
    stack = getattr(_state, "stack", None)
    if stack is None:
        stack = _state.stack = []
    stack.append(name)
    try:
        yield name
    finally:
        stack.pop()
