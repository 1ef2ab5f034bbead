"""The two sibling convolutions a gradient of Conv2DBackpropInput needs, for
every configuration the custom op accepts.

For `dx = conv2d_backprop_input(sizes, w, dy)` and an upstream gradient `g`
(shaped like dx):
- d/d(dy) is the forward convolution `conv2d(g, w)`;
- d/d(w) is the filter gradient `conv2d_backprop_filter(g, shape(w), dy)`;
with the op's strides, padding, dilations, groups and data_format.

TensorFlow's CPU kernels for those two ops refuse much of that (measured with
TF 2.21, oneDNN on and off): Conv2D runs NHWC only (NCHW just with oneDNN and
float32); Conv2DBackpropFilter runs NHWC float types without dilation or
groups only (oneDNN float32 adds dilation and groups, but not with explicit
padding), and no int32 at all. Here:
- NCHW is transposed to NHWC around the NHWC kernels (unless oneDNN runs
  float32 NCHW natively);
- half and bfloat16 are computed in float32 and rounded once, like the custom
  op itself (TF's Eigen half kernels accumulate in half: slow and inexact);
- the filter gradient that TF refuses (dilation, groups, int32) is a forward
  convolution with the roles of batch and channels swapped: the input becomes
  `g` as [C_g, H, W, G*N], the "filter" `dy` as [P, Q, N, K], strides and
  dilations trade places, and G groups keep the channel groups apart;
- empty operands give zeros of exactly the operand's shape (TF's own gradient
  gets the shape wrong when a filter or out_backprop is empty).

Each function carries its own gradient (`tf.custom_gradient`) written with the
custom op and these two functions again, so second and higher orders never
reach the TF kernels that refuse the configuration.

Where `native` is true (GPU kernels, or a graph that XLA compiles) TF's own
ops handle every configuration and are called directly.
"""
import functools

import tensorflow as tf

from tf_custom_op import _builtins, _routing, geometry


_NARROW_FLOATS = (tf.float16, tf.bfloat16)


def conv2d(x, w, out_shape, attrs, native=False):
    """Forward convolution of x with w (`attrs`: a ConvAttrs) as a tensor of
    shape `out_shape` (the shape of the out_backprop it stands for)."""
    if native:
        return _zeros_if_empty(
            lambda: _builtins.conv2d(x, w, **attrs.kwargs()), out_shape, x.dtype, [x, w])

    @tf.custom_gradient
    def forward(x, w):
        y = _zeros_if_empty(functools.partial(_conv2d_on_cpu, x, w, attrs),
                            out_shape, x.dtype, [x, w])

        def grad(g):
            dx = _routing.backprop_input(tf.shape(x), w, g, **attrs.kwargs())
            dw = backprop_filter(x, tf.shape(w), g, attrs)
            return dx, dw
        return y, grad
    return forward(x, w)


def backprop_filter(x, filter_shape, dy, attrs, native=False):
    """Gradient of conv2d(x, w) w.r.t. w for the output gradient dy; a tensor
    of shape `filter_shape`."""
    if native:
        return _zeros_if_empty(
            lambda: _builtins.conv2d_backprop_filter(x, filter_shape, dy, **attrs.kwargs()),
            filter_shape, x.dtype, [x, dy])

    @tf.custom_gradient
    def forward(x, dy):
        dw = _zeros_if_empty(functools.partial(_filter_grad_on_cpu, x, filter_shape, dy, attrs),
                             filter_shape, x.dtype, [x, dy])

        def grad(g):
            dx = _routing.backprop_input(tf.shape(x), g, dy, **attrs.kwargs())
            ddy = conv2d(x, g, tf.shape(dy), attrs)
            return dx, ddy
        return dw, grad
    return forward(x, dy)


# --- the computations ------------------------------------------------------

def _conv2d_on_cpu(x, w, attrs):
    dtype = x.dtype
    x, w = _widen(x), _widen(w)
    if attrs.nchw and not _onednn_float32(x.dtype):
        y = _builtins.conv2d(_to_nhwc(x), w, **attrs.as_nhwc().kwargs())
        y = _to_nchw(y)
    else:
        y = _builtins.conv2d(x, w, **attrs.kwargs())
    return tf.cast(y, dtype)


def _filter_grad_on_cpu(x, filter_shape, dy, attrs):
    dtype = x.dtype
    x, dy = _widen(x), _widen(dy)
    if _onednn_float32(x.dtype) and attrs.padding != "EXPLICIT":
        # oneDNN's float32 kernel runs both layouts, dilation and groups
        # (not explicit padding): faster than the swapped-roles convolution.
        return tf.cast(_builtins.conv2d_backprop_filter(x, filter_shape, dy, **attrs.kwargs()),
                       dtype)
    if attrs.nchw:
        x, dy, attrs = _to_nhwc(x), _to_nhwc(dy), attrs.as_nhwc()
    # TF's Eigen filter gradient: NHWC float types without dilation or groups.
    plain = (attrs.spatial_dilations == (1, 1) and _groups(x, filter_shape, attrs) == 1
             and x.dtype in (tf.float32, tf.float64))
    if plain:
        dw = _builtins.conv2d_backprop_filter(x, filter_shape, dy, **attrs.kwargs())
    else:
        dw = _filter_grad_as_forward_conv(x, filter_shape, dy, attrs)
    return tf.cast(dw, dtype)


def _filter_grad_as_forward_conv(x, filter_shape, dy, attrs):
    """NHWC filter gradient as one grouped forward convolution.

    dw[r, s, c, g*Kg + o] = sum over n, p, q of
        x[n, p*sh + r*dh - pad_top, q*sw + s*dw - pad_left, g*Cg + c] * dy[n, p, q, g*Kg + o]
    is a convolution over (p, q) of an input indexed [c, row, col, (g, n)] with
    a filter indexed [p, q, n, g*Kg + o]: stride (dh, dw), dilation (sh, sw),
    G groups, and an output of R x S positions.
    """
    n, h, w_, c = _dims(x)
    p, q = _dims(dy)[1:3]
    r, s, cg = (_static_or(filter_shape, i) for i in range(3))
    groups = c // cg
    (sh, sw), (dh, dw) = attrs.spatial_strides, attrs.spatial_dilations
    explicit = attrs.spatial_explicit_paddings
    top = geometry.pad_before(h, p, r, sh, dh, attrs.padding, explicit[0], maximum=_max)
    left = geometry.pad_before(w_, q, s, sw, dw, attrs.padding, explicit[1], maximum=_max)
    rows = _window(h, p, r, sh, dh, top)
    cols = _window(w_, q, s, sw, dw, left)

    image = tf.reshape(x, tf.stack([n, h, w_, groups, cg]))
    image = tf.reshape(tf.transpose(image, [4, 1, 2, 3, 0]), tf.stack([cg, h, w_, groups * n]))
    image = image[:, :rows[1], :cols[1], :]  # rows/columns no output position reads
    kernel = tf.transpose(dy, [1, 2, 0, 3])  # [P, Q, N, K]
    conv = dict(strides=[1, dh, dw, 1], dilations=[1, sh, sw, 1])
    pads = [rows[0], rows[2], cols[0], cols[2]]
    if all(isinstance(v, int) for v in pads):
        out = _builtins.conv2d(image, kernel, padding="EXPLICIT",
                               explicit_paddings=geometry.explicit_paddings_of(
                                   (pads[:2], pads[2:]), "NHWC"), **conv)
    else:
        image = tf.pad(image, [[0, 0], [rows[0], rows[2]], [cols[0], cols[2]], [0, 0]])
        out = _builtins.conv2d(image, kernel, padding="VALID", **conv)
    return tf.transpose(out, [1, 2, 0, 3])  # [R, S, C_g, K]


def _window(size, out, k, stride, dilation, before):
    """(pad before, data rows kept, pad after) so that the swapped convolution
    sees exactly the rows [-before, end) that some output position reads,
    end = (k-1)*dilation + (out-1)*stride + 1 - before."""
    total = (k - 1) * dilation + (out - 1) * stride + 1
    end = total - before
    kept = _max(0, _min(end, size))
    pad_before = _min(before, total)
    return pad_before, kept, total - pad_before - kept


# --- small helpers ---------------------------------------------------------

def _zeros_if_empty(compute, out_shape, dtype, operands):
    """compute(), or zeros of `out_shape` when an operand or the result has no
    elements (decided statically where the shapes are known)."""
    sizes = [t.shape.num_elements() for t in operands]
    static_out = tf.get_static_value(out_shape)
    sizes.append(None if static_out is None else int(static_out.prod()))
    if 0 in sizes:
        return tf.zeros(out_shape, dtype)
    if None not in sizes:
        return compute()
    nonempty = tf.reduce_all(tf.stack([tf.size(t, tf.int64) > 0 for t in operands]
                                      + [tf.reduce_prod(tf.cast(out_shape, tf.int64)) > 0]))
    return tf.cond(nonempty, compute, lambda: tf.zeros(out_shape, dtype))


def _groups(x, filter_shape, attrs):
    c = _dims(x)[1 if attrs.nchw else 3]
    cg = _static_or(filter_shape, 2)
    if isinstance(c, int) and isinstance(cg, int):
        return c // cg
    return None  # unknown until run time: take the path that works for any


def _widen(t):
    return tf.cast(t, tf.float32) if t.dtype in _NARROW_FLOATS else t


def _onednn_float32(dtype):
    return _builtins.ONEDNN and dtype == tf.float32


def _to_nhwc(t):
    return tf.transpose(t, [0, 2, 3, 1])


def _to_nchw(t):
    return tf.transpose(t, [0, 3, 1, 2])


def _dims(t):
    """Dimensions of t: Python ints where static, scalar tensors elsewhere."""
    dynamic = None
    dims = []
    for i, d in enumerate(t.shape.as_list()):
        if d is None:
            dynamic = tf.shape(t) if dynamic is None else dynamic
            d = dynamic[i]
        dims.append(d)
    return dims


def _static_or(shape_tensor, i):
    value = tf.get_static_value(shape_tensor)
    return int(value[i]) if value is not None else shape_tensor[i]


def _max(a, b):
    return max(a, b) if isinstance(a, int) and isinstance(b, int) else tf.maximum(a, b)


def _min(a, b):
    return min(a, b) if isinstance(a, int) and isinstance(b, int) else tf.minimum(a, b)
