"""TensorFlow's own generated op functions, captured once, at import.

`patching.patch()` replaces some of these names in `gen_nn_ops`; everything in
the package that needs TensorFlow's own kernel (the XLA route, the gradients,
the patch itself to restore them) reads them from here, so the capture is made
in one place and is never the patched version.
"""
from tensorflow.python.ops import gen_nn_ops  # pylint: disable=no-name-in-module

try:  # private; without it, assume oneDNN is off (the always-correct choice)
    from tensorflow.python.util import _pywrap_util_port  # pylint: disable=no-name-in-module
    ONEDNN = bool(_pywrap_util_port.IsMklEnabled())
except (ImportError, AttributeError):  # pragma: no cover
    ONEDNN = False
# ONEDNN: whether this process's TF runs its CPU convolutions through oneDNN
# (TF_ENABLE_ONEDNN_OPTS, else TF's default for this CPU), read once at import
# as TF itself does.


def _original(name):
    # A module reloaded while patched still finds TensorFlow's function.
    function = getattr(gen_nn_ops, name)
    return getattr(function, "_tf_custom_op_original", function)


conv2d_backprop_input = _original("conv2d_backprop_input")
conv2d = _original("conv2d")
conv2d_backprop_filter = _original("conv2d_backprop_filter")

BY_NAME = {
    "conv2d_backprop_input": conv2d_backprop_input,
    "conv2d": conv2d,
    "conv2d_backprop_filter": conv2d_backprop_filter,
}
