"""The gradients this package defines, both built on `_adjoints`.

The custom op's (registered under its op name): nothing for input_sizes; for the filter the
filter gradient `conv2d_backprop_filter(grad, shape(filter), out_backprop)`,
for out_backprop the forward convolution `conv2d(grad, filter)`, with the
op's own attributes. Both come from `_adjoints`, which computes them for every
configuration the op accepts (NCHW, dilation, groups, every dtype, empty
tensors) and differentiates them again, so second-order gradients work too.

Conv2D's, which `patching.patch()` installs in place of TensorFlow's: the
input gradient from the custom op, the filter gradient from `_adjoints`."""
import tensorflow as tf
from tensorflow.python.eager import context as _context  # pylint: disable=no-name-in-module

from tf_custom_op import _adjoints, _routing
from tf_custom_op._conv_attrs import ConvAttrs
from tf_custom_op._loader import OP_NAME


def in_xla(op):
    """Whether the gradient of `op` is built for a graph that XLA compiles."""
    if _context.executing_eagerly():
        return False
    # Eager tapes inside tf.function hand us a mock op without a graph.
    return _routing.in_xla_context(None, getattr(op, "graph", None))


def prefers_tf_kernels(op, xla):
    """True where TF's own kernels handle every configuration: on a GPU (cuDNN;
    not for int32, which TF's GPU convolutions do not support), and in a graph
    that XLA compiles (`xla`, from in_xla)."""
    if "GPU" in (getattr(op, "device", "") or "").upper():
        return op.inputs[1].dtype != tf.int32
    return xla


def skipped_inputs(op):
    """Inputs an eager tape says need no gradient."""
    return set(getattr(op, "skip_input_indices", None) or ())


@tf.RegisterGradient(OP_NAME)
def _conv2d_backprop_input_grad(op, grad):
    attrs = ConvAttrs.from_op(op)
    native = prefers_tf_kernels(op, in_xla(op))
    skip = skipped_inputs(op)
    w, dy = op.inputs[1], op.inputs[2]
    filter_grad = out_backprop_grad = None
    if 1 not in skip:
        filter_grad = _adjoints.backprop_filter(grad, tf.shape(w), dy, attrs, native)
    if 2 not in skip:
        out_backprop_grad = _adjoints.conv2d(grad, w, tf.shape(dy), attrs, native)
    return [None, filter_grad, out_backprop_grad]


def conv2d_gradient(op, grad):
    """Gradient of TF's Conv2D while patched: the input gradient from the
    custom op (TF's built-in under XLA where our lowering does not serve),
    the filter gradient from `_adjoints`
    (TF's Conv2DBackpropFilter where its kernel runs the configuration)."""
    attrs = ConvAttrs.from_op(op)
    xla = in_xla(op)
    native = prefers_tf_kernels(op, xla)
    skip = skipped_inputs(op)
    x, w = op.inputs[0], op.inputs[1]
    input_grad = filter_grad = None
    if 0 not in skip:
        input_grad = _routing.backprop_input(tf.shape(x), w, grad, xla=xla, **attrs.kwargs())
    if 1 not in skip:
        # tf.shape, not shape_n: its value is known statically when the shape
        # is, which lets _adjoints choose TF's own kernel.
        filter_grad = _adjoints.backprop_filter(x, tf.shape(w), grad, attrs, native)
    return [input_grad, filter_grad]
