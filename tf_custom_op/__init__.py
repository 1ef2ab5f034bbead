"""tf_custom_op: `conv2d_backprop_input` as a TensorFlow custom op with its own
CPU and CUDA kernels, a drop-in for `tf.compat.v1.nn.conv2d_backprop_input`.

    import tf_custom_op
    dx = tf_custom_op.conv2d_backprop_input(x_shape, w, dy, [1, 2, 2, 1], "SAME")

The op library is loaded at import when it can be (so that a SavedModel or
MetaGraph using the op can be loaded right after `import tf_custom_op`); a
missing or mismatched library is reported on first use instead (see `_loader`).
"""
from tf_custom_op import _gradients  # noqa: F401  (registers the gradient)
from tf_custom_op.algorithms import algorithm, current_algorithm
from tf_custom_op._loader import OP_NAME, OpLibraryError, build_info, library_path, op_module
from tf_custom_op.ops import conv2d_backprop_input, convert_padding
# Drop-in layer: conv2d_transpose (TF2 and TF1 signatures) and patching.
from tf_custom_op.patching import is_patched, patch, patched, unpatch
from tf_custom_op.transpose import conv2d_transpose, conv2d_transpose_v1

from tf_custom_op import saved_model  # noqa: F401  (tf_custom_op.saved_model.load)

__version__ = "0.1.0"

# Register the op now when the library loads, so that `import tf_custom_op` is
# all a process needs before tf.saved_model.load / tf.compat.v1 import_meta_graph
# of a model that uses it. A failure is not raised here (the import never
# fails): the first use of the op raises it again, with the fix.
try:
    op_module()
except Exception:  # pylint: disable=broad-except
    pass

__all__ = [
    "OP_NAME",
    "OpLibraryError",
    "algorithm",
    "build_info",
    "conv2d_backprop_input",
    "conv2d_transpose",
    "conv2d_transpose_v1",
    "current_algorithm",
    "convert_padding",
    "is_patched",
    "library_path",
    "op_module",
    "patch",
    "patched",
    "unpatch",
]
