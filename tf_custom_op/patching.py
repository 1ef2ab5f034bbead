"""Routes TensorFlow's own conv2d_backprop_input users through the custom op.

    import tf_custom_op
    tf_custom_op.patch()          # or: with tf_custom_op.patched(): ...
    ...                           # Keras Conv2D / Conv2DTranspose, tf.nn.conv2d_transpose, ...
    tf_custom_op.unpatch()

While patched:
- `tf.compat.v1.nn.conv2d_backprop_input`, `tf.nn.conv2d_transpose`,
  `tf.compat.v1.nn.conv2d_transpose`, `tf.nn.conv_transpose` (and everything
  else in TensorFlow that builds Conv2DBackpropInput through
  `gen_nn_ops.conv2d_backprop_input`, such as the gradient of
  Conv2DBackpropFilter) build the custom op;
- the registered gradient of `Conv2D` (`tf.nn.conv2d`, `tf.nn.convolution`,
  Keras `Conv2D`) computes its input gradient with the custom op and its filter
  gradient with TensorFlow's Conv2DBackpropFilter where that kernel runs the
  configuration, another formulation where it does not (`_gradients`);
- graphs that XLA compiles get the custom op too, lowered to a custom call of
  its CPU kernel; the built-in op where the library has no lowering for them
  (or TF_CUSTOM_OP_XLA=0), see `tf_custom_op._routing`.

The switch acts when ops are created: eagerly on every call, and inside
`tf.function` when a function is traced. A function traced before `patch()`
keeps the ops it was traced with (and one traced while patched keeps the
custom op after `unpatch()`); trace new functions (or a new Keras
`train_function`, e.g. by compiling the model again) to switch.
`tf.raw_ops.Conv2DBackpropInput` is never patched.
"""
import contextlib
import functools
import threading

from tensorflow.python.framework import ops as _ops  # pylint: disable=no-name-in-module
from tensorflow.python.ops import gen_nn_ops  # pylint: disable=no-name-in-module

from tf_custom_op import _builtins, _gradients, _routing
# How many ops the routing built, by kind (owned by _routing; re-exported here
# where users of patch() look for them).
from tf_custom_op._routing import reset_stats, stats  # noqa: F401

_lock = threading.RLock()
_saved = None  # what patch() replaced, to restore; None when not patched

_GRADIENT_OP = "Conv2D"


def _replacement_backprop_input(original):
    @functools.wraps(original)
    def conv2d_backprop_input(input_sizes, filter, out_backprop, strides, padding,  # pylint: disable=redefined-builtin,dangerous-default-value
                              use_cudnn_on_gpu=True, explicit_paddings=[], data_format="NHWC",
                              dilations=[1, 1, 1, 1], name=None):
        return _routing.backprop_input(
            input_sizes, filter, out_backprop, strides, padding,
            use_cudnn_on_gpu=use_cudnn_on_gpu, explicit_paddings=explicit_paddings,
            data_format=data_format, dilations=dilations, name=name)
    conv2d_backprop_input._tf_custom_op_original = original  # pylint: disable=protected-access
    return conv2d_backprop_input


def _noting(original):
    """Wraps a forward op builder so that graphs traced for XLA are remembered
    (their backward functions, traced later, are compiled by XLA too)."""
    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        _routing.note_graph()
        return original(*args, **kwargs)
    wrapper._tf_custom_op_original = original  # pylint: disable=protected-access
    return wrapper


def _gradient_registry_entry():
    """The dict TensorFlow's gradient registry keeps for Conv2D, and its key
    for the function, or (None, None) if this TF keeps it differently."""
    registry = getattr(_ops, "_gradient_registry", None)
    table = getattr(registry, "_registry", None)
    if not isinstance(table, dict):
        return None, None
    entry = table.get(_GRADIENT_OP)
    if not isinstance(entry, dict):
        return None, None
    from tensorflow.python.framework import registry as _registry_mod  # pylint: disable=import-outside-toplevel,no-name-in-module
    key = getattr(_registry_mod, "_TYPE_TAG", "type")
    if key not in entry:
        return None, None
    return entry, key


def is_patched():
    """Whether `patch()` is in effect."""
    return _saved is not None


def patch():
    """Routes TensorFlow's Conv2DBackpropInput builders and the input gradient
    of Conv2D through the custom op (see the module docstring). Idempotent.
    Loads the op library now, so that a missing or mismatched library fails
    here rather than deep inside a model."""
    global _saved
    from tf_custom_op import _loader  # pylint: disable=import-outside-toplevel
    _loader.op_module()
    with _lock:
        if _saved is not None:
            return
        saved = {"gen_nn_ops": {}}
        for attr, new in (
                ("conv2d_backprop_input", _replacement_backprop_input(_builtins.BY_NAME["conv2d_backprop_input"])),
                ("conv2d", _noting(_builtins.BY_NAME["conv2d"])),
                ("conv2d_backprop_filter", _noting(_builtins.BY_NAME["conv2d_backprop_filter"]))):
            saved["gen_nn_ops"][attr] = getattr(gen_nn_ops, attr)
            setattr(gen_nn_ops, attr, new)
        entry, key = _gradient_registry_entry()
        if entry is not None:
            saved["gradient"] = (entry, key, entry[key])
            entry[key] = _gradients.conv2d_gradient
        _saved = saved


def unpatch():
    """Restores TensorFlow's own functions and gradient. Idempotent."""
    global _saved
    with _lock:
        if _saved is None:
            return
        for attr, old in _saved["gen_nn_ops"].items():
            setattr(gen_nn_ops, attr, old)
        if "gradient" in _saved:
            entry, key, old = _saved["gradient"]
            entry[key] = old
        _saved = None


@contextlib.contextmanager
def patched():
    """Context manager: patched inside the block, restored after it (left
    patched if it already was on entry)."""
    was_patched = is_patched()
    patch()
    try:
        yield
    finally:
        if not was_patched:
            unpatch()
