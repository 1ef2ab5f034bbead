"""The op's dtype list is written once per language: cc/kernels/op_dtypes.h
(C++: registrations, the op's T attribute, the GPU codes and dispatch) and
tf_custom_op/dtypes.py (Python). The library reports its list; the op's
registered attribute and kernels follow from it.
"""
import tensorflow as tf

import tf_custom_op
from tf_custom_op import _loader, dtypes


def test_python_list_is_the_librarys():
    assert list(dtypes.NAMES) == _loader.cpu_kernel_report()["dtypes"]


def test_the_ops_type_attribute_lists_them():
    from tensorflow.python.framework import op_def_registry  # pylint: disable=import-outside-toplevel
    tf_custom_op.op_module()
    op_def = op_def_registry.get(tf_custom_op.OP_NAME)
    attr = next(a for a in op_def.attr if a.name == "T")
    allowed = [tf.as_dtype(t).name for t in attr.allowed_values.list.type]
    assert sorted(allowed) == sorted(dtypes.NAMES)


def test_every_listed_dtype_has_a_cpu_kernel():
    for name in dtypes.NAMES:
        dt = tf.as_dtype(name)
        w = tf.ones([1, 1, 1, 1], dt)
        dy = tf.ones([1, 2, 2, 1], dt)
        out = tf_custom_op.conv2d_backprop_input([1, 2, 2, 1], w, dy, [1, 1, 1, 1], "VALID")
        assert out.dtype == dt and float(tf.reduce_sum(tf.cast(out, tf.float64))) == 4.0
