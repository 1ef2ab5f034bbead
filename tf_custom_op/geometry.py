"""The convolution's geometry (docs/CONTRACT.md section 2), the one statement
of it in Python: the output size and padding along one spatial axis, and the
layout of the explicit-padding attribute. Used by the package (attributes,
adjoints), the benchmark, the tools and the tests' reference. The C++
statement is cc/kernels/axis_window.h.
"""


def _truncating_div(a, b):
    """C++ integer division (towards zero), not Python's floor division."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def same_padding(size, out, filter_size, stride, dilation, maximum=max):
    """SAME's total padding along one axis (before = total // 2, after the
    rest). `maximum` lets the adjoints pass symbolic sizes (tf.maximum)."""
    span = (filter_size - 1) * dilation + 1
    return maximum(0, (out - 1) * stride + span - size)


def pad_before(size, out, filter_size, stride, dilation, padding, explicit=(0, 0), maximum=max):
    """The padding before the data along one axis (top or left)."""
    if padding == "VALID":
        return 0
    if padding == "EXPLICIT":
        return explicit[0]
    return same_padding(size, out, filter_size, stride, dilation, maximum) // 2


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
        need = same_padding(size, out, filter_size, stride, dilation)
        return out, need // 2, need - need // 2
    before, after = explicit
    return _truncating_div(size + before + after - span + stride, stride), before, after


def taps_inside(size, filter_size, stride, dilation, padding, explicit=(0, 0)):
    """(output position, filter tap) pairs of one axis whose input index lies
    inside the input, not in its padding: the multiply-adds that read data.
    A dilated layer on a small map has far fewer of them than out x taps."""
    out, before, _ = axis_window(size, filter_size, stride, dilation, padding, explicit)
    return sum(1 for p in range(max(out, 0)) for r in range(filter_size)
               if 0 <= p * stride + r * dilation - before < size)


def output_size(size, filter_size, stride, dilation, padding, explicit=(0, 0)):
    """out_backprop's size along one axis (negative: invalid)."""
    return axis_window(size, filter_size, stride, dilation, padding, explicit)[0]


# The explicit_paddings attribute: 8 values, a (before, after) pair per
# dimension of the tensor in its layout's order (zero for batch and depth).

def padding_pairs(explicit_paddings):
    """The 4 (before, after) pairs of a flat explicit_paddings list, in the
    tensor's dimension order (what the Python `padding` argument lists)."""
    flat = list(explicit_paddings)
    return [flat[i:i + 2] for i in range(0, len(flat), 2)]


def flat_paddings(pairs):
    """The flat explicit_paddings attribute of (before, after) pairs."""
    return [v for pair in pairs for v in pair]


def spatial_axes(data_format):
    """The dimension indices of (rows, columns) in a 4-D tensor's layout."""
    return (2, 3) if data_format == "NCHW" else (1, 2)


def spatial_padding_pairs(explicit_paddings, data_format):
    """((top, bottom), (left, right)) of a flat explicit_paddings list."""
    pairs = padding_pairs(explicit_paddings)
    rows, cols = spatial_axes(data_format)
    return tuple(pairs[rows]), tuple(pairs[cols])


def explicit_paddings_of(spatial_pairs, data_format):
    """The flat explicit_paddings attribute for ((top, bottom), (left, right))
    in `data_format` (batch and depth unpadded)."""
    pairs = [[0, 0] for _ in range(4)]
    for axis, pair in zip(spatial_axes(data_format), spatial_pairs):
        pairs[axis] = list(pair)
    return flat_paddings(pairs)
