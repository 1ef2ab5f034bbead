"""SavedModels that use the custom op.

A SavedModel stores the op by its type name, `TfCustomOp>Conv2DBackpropInput`;
the process that loads it must have registered the op first. `import
tf_custom_op` does that (it loads the op library at import when it can), so

    import tensorflow as tf
    import tf_custom_op  # registers TfCustomOp>Conv2DBackpropInput
    model = tf.saved_model.load(path)

works. Without it TensorFlow fails with "Op type not registered
'TfCustomOp>Conv2DBackpropInput'". `load()` below does both steps and turns
that failure (e.g. a missing or mismatched library) into an `OpLibraryError`
that names this package and how to fix it.
"""
import tensorflow as tf

from tf_custom_op import _loader

UNREGISTERED_HINT = (
    "The SavedModel uses the custom op {op} of the Python package `tf_custom_op`: "
    "`import tf_custom_op` (built for this TensorFlow) before loading it.")


def uses_custom_op(export_dir):
    """Whether the SavedModel at `export_dir` contains the custom op (reads
    the saved_model.pb, loads nothing)."""
    from tensorflow.core.protobuf import saved_model_pb2  # pylint: disable=import-outside-toplevel,no-name-in-module
    path = tf.io.gfile.join(export_dir, "saved_model.pb")
    proto = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(path, "rb") as f:
        proto.ParseFromString(f.read())
    for meta_graph in proto.meta_graphs:
        ops = {op.name for op in meta_graph.meta_info_def.stripped_op_list.op}
        if _loader.OP_NAME in ops:
            return True
    return False


def load(export_dir, tags=None, options=None):
    """`tf.saved_model.load` after registering the op; a missing or unloadable
    op library raises `tf_custom_op.OpLibraryError` naming this package."""
    try:
        _loader.op_module()
    except _loader.OpLibraryError as err:
        if uses_custom_op(export_dir):
            raise _loader.OpLibraryError(
                f"{UNREGISTERED_HINT.format(op=_loader.OP_NAME)} {err}") from err
        # A SavedModel without the op loads fine without the library.
    try:
        return tf.saved_model.load(export_dir, tags=tags, options=options)
    except RuntimeError as err:  # not reached once the library is loaded
        if _loader.OP_NAME in str(err):
            raise _loader.OpLibraryError(
                f"{UNREGISTERED_HINT.format(op=_loader.OP_NAME)} ({err})") from err
        raise
