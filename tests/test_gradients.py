"""Gradients of the op (docs/CONTRACT.md section 5): w.r.t. filter and out_backprop
equal to the built-in's, second order through nested tapes, a numeric check,
and none for input_sizes."""
import numpy as np
import pytest
import tensorflow as tf

import tf_custom_op
from support.cases import Case

OURS = tf_custom_op.conv2d_backprop_input
TF = tf.compat.v1.nn.conv2d_backprop_input

GRAD_CASES = {
    "same_s2": Case.forward([2, 9, 8, 3], [3, 3, 3, 4], (2, 2), "SAME"),
    "valid_s1": Case.forward([1, 6, 7, 2], [2, 3, 2, 5], (1, 1), "VALID"),
    "explicit_s2x1": Case.forward([2, 7, 5, 3], [3, 2, 3, 2], (2, 1), ((1, 2), (0, 1))),
    "stride3_1x1": Case.forward([1, 7, 7, 4], [1, 1, 4, 3], (3, 3), "VALID"),
}


def _unpack(case):
    """(input_sizes, filter shape, strides, padding argument, dy shape)."""
    return (case.input_sizes(), case.filter_shape(), case.strides(), case.padding_arg(),
            case.dy_shape())


def _grads(op, sizes, w, dy, strides, padding, upstream):
    with tf.GradientTape() as tape:
        tape.watch([w, dy])
        out = op(sizes, w, dy, strides, padding)
        loss = tf.reduce_sum(out * upstream)
    return tape.gradient(loss, [w, dy])


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_first_order_matches_builtin(name, dtype, rng):
    sizes, w_shape, strides, padding, dy_shape = _unpack(GRAD_CASES[name])
    w = tf.constant(rng.standard_normal(w_shape), dtype)
    dy = tf.constant(rng.standard_normal(dy_shape), dtype)
    upstream = tf.constant(rng.standard_normal(sizes), dtype)
    ours = _grads(OURS, sizes, w, dy, strides, padding, upstream)
    theirs = _grads(TF, sizes, w, dy, strides, padding, upstream)
    tol = 1e-4 if dtype == tf.float32 else 1e-10
    for a, b, what in zip(ours, theirs, ("filter", "out_backprop")):
        assert a is not None, what
        assert a.shape == b.shape
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=tol, atol=tol, err_msg=what)


def test_gradient_in_tf_function(rng):
    sizes, w_shape, strides, padding, dy_shape = _unpack(GRAD_CASES["same_s2"])
    w = tf.constant(rng.standard_normal(w_shape), tf.float32)
    dy = tf.constant(rng.standard_normal(dy_shape),
                     tf.float32)
    upstream = tf.constant(rng.standard_normal(sizes), tf.float32)
    ours = tf.function(lambda w, dy: _grads(OURS, sizes, w, dy, strides, padding, upstream))(w, dy)
    theirs = _grads(TF, sizes, w, dy, strides, padding, upstream)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-4)


def _second_order(op, sizes, w, dy, strides, padding, upstream):
    with tf.GradientTape(persistent=True) as outer:
        outer.watch([w, dy])
        with tf.GradientTape() as inner:
            inner.watch([w, dy])
            out = op(sizes, w, dy, strides, padding)
            loss = tf.reduce_sum(out * upstream)
        g_w, g_dy = inner.gradient(loss, [w, dy])
        # Non-linear in the first-order gradients, so that the second order
        # depends on both inputs.
        scalar = tf.reduce_sum(g_w * g_w) + tf.reduce_sum(tf.sin(g_dy))
    result = outer.gradient(scalar, [w, dy])
    del outer
    return result


@pytest.mark.parametrize("name", ["same_s2", "explicit_s2x1"])
def test_second_order_matches_builtin(name, rng):
    sizes, w_shape, strides, padding, dy_shape = _unpack(GRAD_CASES[name])
    w = tf.constant(rng.standard_normal(w_shape), tf.float64)
    dy = tf.constant(rng.standard_normal(dy_shape), tf.float64)
    upstream = tf.constant(rng.standard_normal(sizes), tf.float64)
    ours = _second_order(OURS, sizes, w, dy, strides, padding, upstream)
    theirs = _second_order(TF, sizes, w, dy, strides, padding, upstream)
    for a, b in zip(ours, theirs):
        assert a is not None and b is not None
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-9)


def test_numeric_gradient_float64(rng):
    sizes = [1, 5, 4, 2]
    w0 = rng.standard_normal([2, 3, 2, 3])
    dy0 = rng.standard_normal([1, 3, 2, 3])

    def f(w, dy):
        return OURS(sizes, w, dy, [1, 2, 2, 1], [[0, 0], [1, 0], [1, 1], [0, 0]])

    theoretical, numerical = tf.test.compute_gradient(
        f, [tf.constant(w0), tf.constant(dy0)], delta=1e-6)
    for t, n in zip(theoretical, numerical):
        assert np.abs(t).max() > 0
        np.testing.assert_allclose(t, n, rtol=1e-6, atol=1e-6)


def test_no_gradient_for_input_sizes():
    sizes = tf.constant([1, 4, 4, 2])
    w = tf.ones([3, 3, 2, 3])
    dy = tf.ones([1, 4, 4, 3])
    with tf.GradientTape() as tape:
        tape.watch([w, dy])
        out = OURS(sizes, w, dy, [1, 1, 1, 1], "SAME")
    g_sizes, g_w = tape.gradient(out, [sizes, w])
    assert g_sizes is None
    assert g_w is not None
    # And the registered gradient function itself returns None for input 0.
    graph = tf.Graph()
    with graph.as_default():
        sizes_g = tf.constant([1, 4, 4, 2])
        w_g = tf.ones([3, 3, 2, 3])
        dy_g = tf.ones([1, 4, 4, 3])
        out_g = OURS(sizes_g, w_g, dy_g, [1, 1, 1, 1], "SAME")
        grads = tf.compat.v1.gradients(out_g, [sizes_g, w_g, dy_g])
        assert grads[0] is None
        assert grads[1] is not None and grads[2] is not None


def test_gradient_registered_under_op_name():
    from tensorflow.python.framework import ops  # pylint: disable=no-name-in-module
    assert ops.get_gradient_function  # the registry exists
    graph = tf.Graph()
    with graph.as_default():
        out = OURS([1, 4, 4, 2], tf.ones([3, 3, 2, 3]), tf.ones([1, 4, 4, 3]),
                   [1, 1, 1, 1], "SAME")
        assert ops.get_gradient_function(out.op) is not None
