"""`conv2d_backprop_input` with exactly the signature and argument handling of
`tf.compat.v1.nn.conv2d_backprop_input`, computed by the custom op."""
import tensorflow as tf

from tf_custom_op import _routing


def lookup_alias(new_name, new_value, old_name, old_value):
    """The value of an argument TF accepts under two names (e.g. `filters` and
    the older `filter`): whichever was given; both is TF's ValueError."""
    if old_value is not None:
        if new_value is not None:
            raise ValueError(f"Cannot specify both '{old_name}' and '{new_name}'.")
        return old_value
    return new_value


def convert_padding(padding, expected_length=4):
    """Maps the Python `padding` argument to the op's (padding, explicit_paddings).

    "SAME"/"VALID" pass through; a list of `expected_length` (before, after)
    pairs becomes "EXPLICIT" with the flattened values. The same ValueErrors
    as TensorFlow's own wrapper.
    """
    explicit_paddings = []
    if isinstance(padding, str) and padding == "EXPLICIT":
        raise ValueError("'EXPLICIT' is not a valid value for `padding`. To use "
                         "explicit padding, `padding` must be a list.")
    if isinstance(padding, (list, tuple)):
        for index, pair in enumerate(padding):
            if not isinstance(pair, (list, tuple)):
                raise ValueError(
                    "When `padding` is a list, each element of `padding` must be a "
                    f"list/tuple of size 2. Received: padding={padding} with element "
                    f"at index {index} of type {type(pair)}")
            if len(pair) != 2:
                raise ValueError(
                    "When `padding` is a list, each element of `padding` must be a "
                    f"list/tuple of size 2. Received: padding={padding} with element "
                    f"at index {index} of size {len(pair)}")
            explicit_paddings.extend(pair)
        if len(padding) != expected_length:
            raise ValueError(
                f"When padding is a list, it must be of size {expected_length}. "
                f"Received: padding={padding} of size {len(padding)}")
        padding = "EXPLICIT"
    return padding, explicit_paddings


@tf.autograph.experimental.do_not_convert
def conv2d_backprop_input(  # pylint: disable=redefined-builtin,dangerous-default-value
        input_sizes,
        filter=None,
        out_backprop=None,
        strides=None,
        padding=None,
        use_cudnn_on_gpu=True,
        data_format="NHWC",
        dilations=[1, 1, 1, 1],
        name=None,
        filters=None):
    """Gradient of conv2d with respect to its input (drop-in for
    `tf.compat.v1.nn.conv2d_backprop_input`).

    Args:
      input_sizes: int32 vector (list, tuple, array, TensorShape or tensor) of
        4 values, the input's shape in `data_format` order, or 2 values (H, W).
      filter: 4-D `[filter_height, filter_width, in_channels/groups, out_channels]`
        tensor of half, bfloat16, float32, float64 or int32.
      out_backprop: 4-D gradient of the convolution's output, same dtype.
      strides: 4 ints in `data_format` order (batch and depth entries 1).
      padding: "SAME", "VALID", or 4 (before, after) pairs in `data_format` order.
      use_cudnn_on_gpu: accepted for compatibility; ignored.
      data_format: "NHWC" or "NCHW".
      dilations: 4 ints in `data_format` order (batch and depth entries 1).
      name: a name for the operation.
      filters: alias of `filter`.

    Returns:
      A tensor of the filter's dtype and shape `input_sizes`.

    Inside a graph that XLA compiles (`tf.function(jit_compile=True)`) the
    op is lowered to a custom call of the same CPU kernel; where the library
    has no lowering for the graph's devices (or TF_CUSTOM_OP_XLA=0), this
    builds TensorFlow's built-in op instead; see `_routing`.
    """
    filter = lookup_alias("filters", filters, "filter", filter)
    padding, explicit_paddings = convert_padding(padding)
    return _routing.backprop_input(
        input_sizes=input_sizes,
        filter=filter,
        out_backprop=out_backprop,
        strides=strides,
        padding=padding,
        use_cudnn_on_gpu=use_cudnn_on_gpu,
        explicit_paddings=explicit_paddings,
        data_format=data_format,
        dilations=dilations,
        name=name)
