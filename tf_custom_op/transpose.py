"""`conv2d_transpose` with the signatures of TensorFlow's two versions, computed
by the custom op (the built-in op inside graphs that XLA compiles).

- `conv2d_transpose(input, filters, output_shape, strides, padding="SAME",
  data_format="NHWC", dilations=None, name=None)`: `tf.nn.conv2d_transpose`
  (TF2).
- `conv2d_transpose_v1(value=None, filter=None, output_shape=None,
  strides=None, padding="SAME", data_format="NHWC", name=None, input=None,
  filters=None, dilations=None)`: `tf.compat.v1.nn.conv2d_transpose`.

Argument handling and errors follow TensorFlow's: `strides`/`dilations` may be
an int or a sequence of 1, 2 or 4 values; `padding` "SAME", "VALID" or a list
of 4 (before, after) pairs; `input`/`value` and `filters`/`filter` are aliases
in the v1 form and giving both is a ValueError.
"""
import collections.abc

import tensorflow as tf

from tf_custom_op.ops import conv2d_backprop_input, lookup_alias


def _spatial_sequence(value, name, channel_index, n=2):
    """`value` as the op's 4-entry list: None -> all ones; 1 value broadcast to
    the spatial dims; n values get batch and channel 1 added; n+2 values pass
    through; any other length is a ValueError (TensorFlow's rules)."""
    if value is None:
        return [1] * (n + 2)
    if isinstance(value, list):
        values = value
    elif isinstance(value, (tuple, int)) or not isinstance(value, collections.abc.Sized):
        values = list(value) if isinstance(value, tuple) else [value]
    else:
        values = list(value)
    if len(values) == n + 2:
        return values
    if len(values) == 1:
        values = values * n
    elif len(values) != n:
        raise ValueError(f"{name} should be of length 1, {n} or {n + 2}. "
                         f"Received: {name}={values} of length {len(values)}")
    return [1, 1] + values if channel_index == 1 else [1] + values + [1]


@tf.autograph.experimental.do_not_convert
def conv2d_transpose(  # pylint: disable=redefined-builtin
        input,
        filters,
        output_shape,
        strides,
        padding="SAME",
        data_format="NHWC",
        dilations=None,
        name=None):
    """The transpose of conv2d (drop-in for `tf.nn.conv2d_transpose`).

    Args:
      input: 4-D tensor `[batch, height, width, in_channels]` (NHWC) or
        `[batch, in_channels, height, width]` (NCHW).
      filters: `[height, width, output_channels, in_channels]`, same dtype.
      output_shape: 1-D tensor or list, the shape of the result.
      strides: int or list of 1, 2 or 4 ints.
      padding: "SAME", "VALID", or 4 (before, after) pairs in data_format order.
      data_format: "NHWC" (default) or "NCHW".
      dilations: int or list of 1, 2 or 4 ints (default 1).
      name: a name for the operation.

    Returns:
      A tensor of `input`'s dtype and shape `output_shape`.
    """
    with tf.compat.v1.name_scope(name, "conv2d_transpose",
                                 [input, filters, output_shape]) as scope:
        if data_format is None:
            data_format = "NHWC"
        channel_index = 1 if data_format.startswith("NC") else 3
        strides = _spatial_sequence(strides, "strides", channel_index)
        dilations = _spatial_sequence(dilations, "dilations", channel_index)
        # The transposed convolution is the input gradient of the forward one.
        return conv2d_backprop_input(
            input_sizes=output_shape,
            filter=filters,
            out_backprop=input,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilations=dilations,
            name=scope)


@tf.autograph.experimental.do_not_convert
def conv2d_transpose_v1(  # pylint: disable=redefined-builtin
        value=None,
        filter=None,
        output_shape=None,
        strides=None,
        padding="SAME",
        data_format="NHWC",
        name=None,
        input=None,
        filters=None,
        dilations=None):
    """The transpose of conv2d (drop-in for `tf.compat.v1.nn.conv2d_transpose`).

    `value`/`input` and `filter`/`filters` are aliases (giving both is a
    ValueError); otherwise as `conv2d_transpose`.
    """
    value = lookup_alias("input", input, "value", value)
    filter = lookup_alias("filters", filters, "filter", filter)
    with tf.compat.v1.name_scope(name, "conv2d_transpose",
                                 [value, filter, output_shape]) as scope:
        return conv2d_transpose(value, filter, output_shape, strides, padding=padding,
                                data_format=data_format, dilations=dilations, name=scope)
