"""The convolution's geometry along one spatial axis (docs/CONTRACT.md
section 2), the one statement of it in Python: used by the benchmark, the
tools and the tests' reference. The C++ statement is cc/kernels/axis_window.h.
"""


def _truncating_div(a, b):
    """C++ integer division (towards zero), not Python's floor division."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def axis_window(size, filter_size, stride, dilation, padding, explicit=(0, 0)):
    """(out_backprop size, padding before, padding after) for one axis.

    `padding` is "SAME", "VALID" or "EXPLICIT" (then `explicit` gives the
    (before, after) pair). A negative size means the configuration is invalid.
    """
    span = (filter_size - 1) * dilation + 1
    if padding == "VALID":
        return _truncating_div(size - span + stride, stride), 0, 0
    if padding == "SAME":
        out = _truncating_div(size + stride - 1, stride)
        need = max(0, (out - 1) * stride + span - size)
        return out, need // 2, need - need // 2
    before, after = explicit
    return _truncating_div(size + before + after - span + stride, stride), before, after


def output_size(size, filter_size, stride, dilation, padding, explicit=(0, 0)):
    """out_backprop's size along one axis (negative: invalid)."""
    return axis_window(size, filter_size, stride, dilation, padding, explicit)[0]
