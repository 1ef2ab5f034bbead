"""Gradient of the custom op, identical to TensorFlow's for Conv2DBackpropInput:
nothing for input_sizes, conv2d_backprop_filter for the filter and conv2d for
out_backprop, with the op's own attributes. Both are differentiable TF ops,
so second-order gradients work through nested tapes."""
import tensorflow as tf
from tensorflow.python.ops import gen_nn_ops  # pylint: disable=no-name-in-module

from tf_custom_op._loader import OP_NAME


def _attrs(op):
    return dict(
        strides=op.get_attr("strides"),
        padding=op.get_attr("padding"),
        explicit_paddings=op.get_attr("explicit_paddings"),
        use_cudnn_on_gpu=op.get_attr("use_cudnn_on_gpu"),
        data_format=op.get_attr("data_format").decode(),
        dilations=op.get_attr("dilations"),
    )


@tf.RegisterGradient(OP_NAME)
def _conv2d_backprop_input_grad(op, grad):
    attrs = _attrs(op)
    filter_grad = gen_nn_ops.conv2d_backprop_filter(
        grad, tf.shape(op.inputs[1]), op.inputs[2], **attrs)
    out_backprop_grad = gen_nn_ops.conv2d(grad, op.inputs[1], **attrs)
    return [None, filter_grad, out_backprop_grad]
