"""patch()/unpatch()/patched() route TensorFlow's conv2d_backprop_input users
through the custom op; tf_custom_op.conv2d_transpose matches TF's v1 and v2."""
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import ops as tf_ops
from tensorflow.python.ops import gen_nn_ops

import tf_custom_op
from tf_custom_op import patching
from support.tf_oracle import EIGEN

CUSTOM = tf_custom_op.OP_NAME
BUILTIN = "Conv2DBackpropInput"


@pytest.fixture(autouse=True)
def _unpatched():
    tf_custom_op.unpatch()
    yield
    tf_custom_op.unpatch()


def op_types(fn, *args):
    """Op types in the graph of tf.function(fn) traced now for args."""
    graph = tf.function(fn).get_concrete_function(*args).graph
    types = [op.type for op in graph.get_operations()]
    return types


def data(rng, *shape):
    return tf.constant(rng.standard_normal(shape), tf.float32)


def test_patch_unpatch_restore_tensorflow(rng):
    original_fn = gen_nn_ops.conv2d_backprop_input
    original_grad = tf_ops._gradient_registry.lookup("Conv2D")  # pylint: disable=protected-access
    assert not tf_custom_op.is_patched()
    tf_custom_op.patch()
    tf_custom_op.patch()  # idempotent
    assert tf_custom_op.is_patched()
    assert gen_nn_ops.conv2d_backprop_input is not original_fn
    assert tf_ops._gradient_registry.lookup("Conv2D") is not original_grad  # pylint: disable=protected-access
    tf_custom_op.unpatch()
    tf_custom_op.unpatch()  # idempotent
    assert not tf_custom_op.is_patched()
    assert gen_nn_ops.conv2d_backprop_input is original_fn
    assert tf_ops._gradient_registry.lookup("Conv2D") is original_grad  # pylint: disable=protected-access


def test_context_manager_nests_and_restores():
    with tf_custom_op.patched():
        assert tf_custom_op.is_patched()
        with tf_custom_op.patched():
            assert tf_custom_op.is_patched()
        assert tf_custom_op.is_patched()  # the inner block leaves the outer patch
    assert not tf_custom_op.is_patched()
    with pytest.raises(KeyError):
        with tf_custom_op.patched():
            raise KeyError("boom")
    assert not tf_custom_op.is_patched()  # restored on error too


def _entry_points(dy, w, shape):
    return {
        "compat.v1.nn.conv2d_backprop_input": lambda: tf.compat.v1.nn.conv2d_backprop_input(
            shape, w, dy, [1, 2, 2, 1], "SAME"),
        "nn.conv2d_transpose": lambda: tf.nn.conv2d_transpose(dy, w, shape, 2, "SAME"),
        "compat.v1.nn.conv2d_transpose": lambda: tf.compat.v1.nn.conv2d_transpose(
            dy, w, shape, [1, 2, 2, 1], "SAME"),
        "nn.conv_transpose": lambda: tf.nn.conv_transpose(dy, w, shape, 2, "SAME"),
        "explicit padding": lambda: tf.nn.conv2d_transpose(
            dy, w, shape, 2, [[0, 0], [1, 1], [0, 1], [0, 0]]),
    }


@pytest.mark.parametrize("entry", ["compat.v1.nn.conv2d_backprop_input", "nn.conv2d_transpose",
                                   "compat.v1.nn.conv2d_transpose", "nn.conv_transpose",
                                   "explicit padding"])
def test_tensorflow_entry_points_use_custom_op(rng, entry):
    dy, w = data(rng, 2, 4, 4, 5), data(rng, 3, 3, 3, 5)
    shape = [2, 7, 8, 3]
    fn = _entry_points(dy, w, shape)[entry]
    expected = fn().numpy()
    assert BUILTIN in op_types(fn) and CUSTOM not in op_types(fn)
    with tf_custom_op.patched():
        types = op_types(fn)
        assert CUSTOM in types and BUILTIN not in types
        before = patching.stats()["custom"]
        got = fn()  # eager
        assert patching.stats()["custom"] == before + 1
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-5)
    assert BUILTIN in op_types(fn)  # unpatched again


@pytest.mark.parametrize("conv", [
    dict(strides=[1, 2, 2, 1], padding="SAME"),
    dict(strides=1, padding="VALID", dilations=2),
    dict(strides=2, padding=[[0, 0], [1, 2], [0, 1], [0, 0]]),
], ids=str)
def test_conv2d_input_gradient_uses_custom_op(rng, conv):
    x, w = data(rng, 2, 9, 8, 3), data(rng, 3, 3, 3, 4)
    # TF's Eigen kernels refuse dilated Conv2DBackpropInput/Filter (oneDNN's
    # accept them): the reference for that case is atrous_conv2d, the same
    # convolution through space_to_batch, whose gradients every kernel runs.
    dilated = "dilations" in conv

    def grads(x, w, reference=False):
        with tf.GradientTape() as tape:
            tape.watch([x, w])
            if reference and dilated:
                y = tf.nn.atrous_conv2d(x, w, conv["dilations"], conv["padding"])
            else:
                y = tf.nn.conv2d(x, w, **conv)
            loss = tf.reduce_sum(y * y)
        return tape.gradient(loss, [x, w])

    expected = [g.numpy() for g in grads(x, w, reference=True)]
    assert CUSTOM not in op_types(grads, x, w)
    with tf_custom_op.patched():
        got_eager = grads(x, w)
        types = op_types(grads, x, w)
        assert CUSTOM in types and BUILTIN not in types
        # TF's filter-gradient kernel where it runs the configuration.
        assert dilated or "Conv2DBackpropFilter" in types
        got_fn = tf.function(grads)(x, w)
        # TF1-style symbolic gradients take the same registry path.
        graph = tf.Graph()
        with graph.as_default():
            xg = tf.compat.v1.placeholder(tf.float32, [None] + x.shape.as_list()[1:])
            yg = tf.nn.conv2d(xg, tf.constant(w), **conv)
            dxg = tf.compat.v1.gradients(tf.reduce_sum(yg * yg), xg)[0]
            assert CUSTOM in [op.type for op in graph.get_operations()]
            with tf.compat.v1.Session(graph=graph) as sess:
                got_tf1 = sess.run(dxg, {xg: x.numpy()})
    for got in (got_eager, got_fn):
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g.numpy(), e, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got_tf1, expected[0], rtol=1e-4, atol=1e-4)


def test_functions_traced_while_patched_keep_custom_op(rng):
    dy, w = data(rng, 1, 3, 3, 2), data(rng, 3, 3, 2, 2)
    fn = tf.function(lambda: tf.nn.conv2d_transpose(dy, w, [1, 6, 6, 2], 2, "SAME"))
    with tf_custom_op.patched():
        traced = fn.get_concrete_function()
    assert CUSTOM in [op.type for op in traced.graph.get_operations()]
    # A new trace after unpatch() uses TensorFlow's op again.
    assert BUILTIN in op_types(lambda: tf.nn.conv2d_transpose(dy, w, [1, 6, 6, 2], 2, "SAME"))


def test_second_order_gradient_through_patched_conv2d(rng):
    x, w = data(rng, 1, 6, 6, 2), data(rng, 3, 3, 2, 3)

    def second(x, w):
        with tf.GradientTape() as outer:
            outer.watch(w)
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = tf.nn.conv2d(x, w, 2, "SAME")
                loss = tf.reduce_sum(y * y)
            dx = inner.gradient(loss, x)
            s = tf.reduce_sum(dx * dx)
        return outer.gradient(s, w)

    expected = second(x, w).numpy()
    with tf_custom_op.patched():
        got = second(x, w).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)


# conv2d_transpose: the v2 (tf.nn) and v1 (tf.compat.v1.nn) signatures.

TRANSPOSE_CASES = [
    dict(strides=2, padding="SAME"),
    dict(strides=[2, 3], padding="VALID"),
    dict(strides=[1, 2, 2, 1], padding="SAME"),
    dict(strides=(1,), padding="VALID", dilations=2),
    dict(strides=1, padding="SAME", dilations=[2, 2]),
    dict(strides=2, padding=[[0, 0], [1, 0], [2, 1], [0, 0]]),
]


@pytest.mark.parametrize("case", TRANSPOSE_CASES, ids=str)
def test_conv2d_transpose_v2_matches_tensorflow(rng, case):
    w = data(rng, 3, 3, 2, 4)
    x = data(rng, 2, 9, 10, 2)
    # The forward conv gives a consistent (input, output_shape) pair.
    strides = case["strides"]
    y = tf.nn.conv2d(x, w, strides, case["padding"], dilations=case.get("dilations"))
    kwargs = dict(case)
    if "dilations" in case:
        # TF's CPU kernel refuses dilation: the reference is the input gradient
        # of <atrous_conv2d(x, w), y> (stride 1 here).
        rate = case["dilations"] if isinstance(case["dilations"], int) else case["dilations"][0]
        assert isinstance(case["dilations"], int) or len(set(case["dilations"])) == 1
        with tf.GradientTape() as tape:
            tape.watch(x)
            expected = tape.gradient(
                tf.reduce_sum(tf.nn.atrous_conv2d(x, w, rate, case["padding"]) * y), x)
    else:
        expected = tf.nn.conv2d_transpose(y, w, x.shape, **kwargs)
    got = tf_custom_op.conv2d_transpose(y, w, x.shape, **kwargs)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-4)
    v1_kwargs = dict(kwargs)
    got_v1 = tf_custom_op.conv2d_transpose_v1(value=y, filter=w, output_shape=x.shape, **v1_kwargs)
    np.testing.assert_allclose(got_v1.numpy(), expected.numpy(), rtol=1e-5, atol=1e-4)
    got_v1b = tf_custom_op.conv2d_transpose_v1(input=y, filters=w, output_shape=x.shape, **v1_kwargs)
    np.testing.assert_allclose(got_v1b.numpy(), expected.numpy(), rtol=1e-5, atol=1e-4)


def test_conv2d_transpose_nchw_positional(rng):
    w = data(rng, 3, 3, 2, 4)
    y = data(rng, 1, 4, 5, 5)
    shape = [1, 2, 10, 10]
    # TF's CPU kernel may refuse NCHW: the reference runs in NHWC.
    expected = tf.transpose(tf.nn.conv2d_transpose(
        tf.transpose(y, [0, 2, 3, 1]), w, [1, 10, 10, 2], 2, "SAME"), [0, 3, 1, 2])
    got = tf_custom_op.conv2d_transpose(y, w, shape, [1, 1, 2, 2], "SAME", "NCHW")
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-4)
    got = tf_custom_op.conv2d_transpose_v1(y, w, shape, [1, 1, 2, 2], "SAME", "NCHW")
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-4)


def _error(fn):
    try:
        fn()
    except Exception as err:  # pylint: disable=broad-except
        return type(err), str(err)
    return None, None


@pytest.mark.parametrize("kwargs", [
    dict(strides=[1, 2, 2]),
    dict(strides=2, dilations=[1, 1, 1]),
    dict(strides=2, padding="EXPLICIT"),
    dict(strides=2, padding=[[0, 0], [1, 1], [0, 0]]),
    dict(strides=2, padding=[[0, 0], 1, [0, 0], [0, 0]]),
], ids=str)
def test_conv2d_transpose_argument_errors_match_tensorflow(rng, kwargs):
    w, y = data(rng, 3, 3, 2, 4), data(rng, 1, 4, 4, 4)
    expected = _error(lambda: tf.nn.conv2d_transpose(y, w, [1, 8, 8, 2], **kwargs))
    assert expected[0] is ValueError
    assert _error(lambda: tf_custom_op.conv2d_transpose(y, w, [1, 8, 8, 2], **kwargs)) == expected
    expected_v1 = _error(lambda: tf.compat.v1.nn.conv2d_transpose(y, w, [1, 8, 8, 2], **kwargs))
    assert _error(lambda: tf_custom_op.conv2d_transpose_v1(y, w, [1, 8, 8, 2], **kwargs)) == expected_v1


def test_conv2d_transpose_v1_alias_errors(rng):
    w, y = data(rng, 3, 3, 2, 4), data(rng, 1, 4, 4, 4)
    for kwargs in (dict(value=y, input=y, filter=w), dict(value=y, filter=w, filters=w)):
        expected = _error(lambda: tf.compat.v1.nn.conv2d_transpose(
            output_shape=[1, 8, 8, 2], strides=2, **kwargs))  # pylint: disable=cell-var-from-loop
        got = _error(lambda: tf_custom_op.conv2d_transpose_v1(
            output_shape=[1, 8, 8, 2], strides=2, **kwargs))  # pylint: disable=cell-var-from-loop
        assert expected[0] is ValueError and got == expected


def test_conv2d_transpose_runtime_error_matches(rng):
    w, y = data(rng, 3, 3, 2, 4), data(rng, 1, 4, 4, 4)
    # TF's reference kernel (oneDNN off; oneDNN says AbortedError instead).
    with pytest.raises(tf.errors.InvalidArgumentError):
        EIGEN.call("transpose", y.numpy(), w.numpy(), [1, 5, 5, 2], 2, "SAME")
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf_custom_op.conv2d_transpose(y, w, [1, 5, 5, 2], 2, "SAME")


def test_conv2d_transpose_static_shape_and_name_in_graph(rng):
    w = data(rng, 3, 3, 2, 4)
    graph = tf.Graph()
    with graph.as_default():
        y = tf.compat.v1.placeholder(tf.float32, [None, 4, 4, 4])
        shape = tf.stack([tf.shape(y)[0], 8, 8, 2])
        ours = tf_custom_op.conv2d_transpose(y, tf.constant(w), shape, 2, "SAME", name="up")
        theirs = tf.nn.conv2d_transpose(y, tf.constant(w), shape, 2, "SAME", name="up_tf")
        assert ours.shape.as_list() == theirs.shape.as_list() == [None, 8, 8, 2]
        assert ours.op.name == "up" and ours.op.type == CUSTOM
        v1 = tf_custom_op.conv2d_transpose_v1(y, tf.constant(w), shape, 2, "SAME")
        assert v1.op.name == "conv2d_transpose" and v1.op.type == CUSTOM
