"""Gradients of the op in every configuration the forward op supports, against
the float64 NumPy reference (never against TF's gradient, which refuses NCHW,
dilation, groups and some dtypes on CPU, and whose answer depends on whether
oneDNN is on).

The loss is sum(dx * upstream); its gradients w.r.t. the filter and
out_backprop are `conv2d_backprop_input_grads_ref`. Cases come from the same
random sweep as the forward tests (5 dtypes, NHWC and NCHW, groups, dilation,
stride with dilation, SAME/VALID/explicit padding, 2-value input_sizes, empty
batches), plus hand-picked empty and degenerate shapes.
"""
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import ops as tf_ops  # pylint: disable=no-name-in-module

import tf_custom_op
from support.cases import DTYPES, Case, make_inputs, random_cases
from support.compare import as_f64, assert_close
from support.reference import conv2d_backprop_input_grads_ref

SWEEP = random_cases(160, seed=4242)
FLOAT_SWEEP = [c for c in SWEEP if c.dtype != "int32"]
INT_SWEEP = [c for c in SWEEP if c.dtype == "int32"]

# Shapes where an operand is empty: the gradients are zeros of exactly the
# operand's shape (TF's own gradient returns a wrongly shaped tensor for some).
EMPTY_CASES = [
    # out_backprop with no columns: (3, 3, 0, 4)
    Case("float32", "NHWC", 3, 5, 1, 3, 3, 4, 3, 3, (1, 2), (1, 1), "VALID", seed=21),
    # filter with no columns, and with no output channels
    Case("float32", "NHWC", 1, 4, 4, 1, 1, 1, 1, 0, (1, 1), (1, 1), "VALID", seed=22),
    Case("float64", "NHWC", 2, 1, 1, 5, 5, 0, 1, 1, (1, 1), (1, 1), "SAME", seed=23),
    Case("float32", "NCHW", 2, 6, 5, 4, 2, 0, 3, 3, (2, 2), (1, 1), "SAME", seed=24),
    # VALID n=1, k=4, s=2: out_backprop has 0 rows (C++ truncation), dx all zero
    Case("float32", "NHWC", 1, 1, 1, 2, 2, 3, 4, 4, (2, 2), (1, 1), "VALID", seed=25),
    # empty batch, NCHW with groups and dilation
    Case("bfloat16", "NCHW", 0, 7, 6, 4, 2, 6, 3, 2, (1, 2), (2, 1), "SAME", seed=26),
    Case("float16", "NHWC", 0, 5, 5, 3, 3, 2, 2, 2, (2, 2), (1, 1), ((1, 0), (0, 2)), seed=27),
]

# Larger shapes in the configurations TF's CPU kernels refuse (several
# register tiles, channel tails), and ones it handles.
MEDIUM_GRAD_CASES = [
    Case("float32", "NCHW", 2, 13, 11, 12, 12, 10, 3, 3, (2, 1), (1, 1), "VALID", seed=31),
    Case("float32", "NHWC", 2, 14, 12, 16, 4, 12, 3, 3, (1, 1), (2, 2), "SAME", seed=32),
    Case("float32", "NHWC", 1, 16, 15, 9, 3, 6, 4, 3, (2, 3), (2, 1), ((2, 1), (0, 3)), seed=33),
    Case("float64", "NCHW", 2, 9, 10, 6, 2, 9, 3, 2, (3, 2), (1, 2), "SAME", seed=34),
    Case("float32", "NHWC", 2, 15, 13, 20, 20, 24, 3, 3, (2, 2), (1, 1), "SAME", seed=35),
    Case("float16", "NCHW", 1, 10, 9, 8, 4, 6, 3, 3, (1, 1), (2, 2), "VALID", seed=36),
    Case("bfloat16", "NHWC", 2, 9, 9, 6, 3, 4, 2, 2, (2, 2), (1, 1), ((0, 1), (1, 0)), seed=37),
]


def _upstream(case, shape):
    rng = np.random.default_rng(case.seed + 1)
    if case.dtype == "int32":
        return rng.integers(-7, 8, shape).astype(np.int32)
    return tf.cast(tf.constant(rng.standard_normal(shape), tf.float32), DTYPES[case.dtype]).numpy()


def _call(case, w, dy):
    return tf_custom_op.conv2d_backprop_input(
        case.input_sizes(), w, dy, strides=case.strides(), padding=case.padding_arg(),
        data_format=case.data_format, dilations=case.dilations())


def _expected(case, w, dy, up):
    args = (case.input_sizes(),)
    kw = dict(strides=case.strides(), padding=case.padding_arg(),
              data_format=case.data_format, dilations=case.dilations())
    want = conv2d_backprop_input_grads_ref(*args, as_f64(w), as_f64(dy), as_f64(up), **kw)
    mag = conv2d_backprop_input_grads_ref(*args, np.abs(as_f64(w)), np.abs(as_f64(dy)),
                                          np.abs(as_f64(up)), **kw)
    return want, mag


def _check(case, got, w, dy, up, how):
    want, mag = _expected(case, w, dy, up)
    for value, expected, magnitude, what in zip(got, want, mag, ("d/dfilter", "d/dout_backprop")):
        assert value is not None, f"{what} is None ({how}, {case})"
        value = value if isinstance(value, np.ndarray) else value.numpy()
        assert value.dtype == np.dtype(DTYPES[case.dtype].as_numpy_dtype), (what, value.dtype)
        assert_close(case, value, expected, magnitude, f"{what} {how}")


def _tape_grads(case, w, dy, up):
    w, dy, up = (tf.convert_to_tensor(v) for v in (w, dy, up))
    with tf.GradientTape() as tape:
        tape.watch([w, dy])
        loss = tf.reduce_sum(_call(case, w, dy) * up)
    return tape.gradient(loss, [w, dy])


def _graph_grads(case, w, dy, up, placeholders=False):
    """TF1 graph and session: tf.compat.v1.gradients for float dtypes; for
    int32 (not differentiable for tapes and tf.gradients) the registered
    gradient function called on the op."""
    graph = tf.Graph()
    with graph.as_default():
        if placeholders:
            w_t = tf.compat.v1.placeholder(DTYPES[case.dtype], [None] * 4)
            dy_t = tf.compat.v1.placeholder(DTYPES[case.dtype], [None] * 4)
        else:
            w_t, dy_t = tf.constant(w, DTYPES[case.dtype]), tf.constant(dy, DTYPES[case.dtype])
        out = _call(case, w_t, dy_t)
        up_t = tf.constant(up, DTYPES[case.dtype])
        if case.dtype == "int32":
            grads = tf_ops.get_gradient_function(out.op)(out.op, up_t)[1:]
        else:
            grads = tf.compat.v1.gradients(tf.reduce_sum(out * up_t), [w_t, dy_t])
        with tf.compat.v1.Session(graph=graph) as sess:
            feed = {w_t: w, dy_t: dy} if placeholders else None
            return sess.run(grads, feed)


@pytest.mark.parametrize("case", FLOAT_SWEEP + EMPTY_CASES + MEDIUM_GRAD_CASES, ids=str)
def test_first_order_eager(case):
    w, dy = make_inputs(case)
    up = _upstream(case, case.dx_shape())
    got = _tape_grads(case, w, dy, up)
    assert got[0].shape == w.shape and got[1].shape == dy.shape
    _check(case, got, w, dy, up, "eager")


@pytest.mark.parametrize("case", FLOAT_SWEEP[::4] + EMPTY_CASES[:3] + MEDIUM_GRAD_CASES[:3], ids=str)
def test_first_order_in_tf_function(case):
    w, dy = make_inputs(case)
    up = _upstream(case, case.dx_shape())
    got = tf.function(lambda a, b, c: _tape_grads(case, a, b, c))(w, dy, up)
    _check(case, got, w, dy, up, "tf.function")


@pytest.mark.parametrize("case", INT_SWEEP + FLOAT_SWEEP[1::6] + EMPTY_CASES[:2], ids=str)
def test_first_order_in_tf1_graph(case):
    w, dy = make_inputs(case)
    up = _upstream(case, case.dx_shape())
    _check(case, _graph_grads(case, w, dy, up), w, dy, up, "TF1 graph")


@pytest.mark.parametrize("case", [c for c in FLOAT_SWEEP[2::9] + MEDIUM_GRAD_CASES[:4]
                                  if not c.two_value_sizes], ids=str)
def test_first_order_unknown_shapes(case):
    """Shapes known only at run time (placeholders; a tf.function with a
    fully unknown signature): the paths that cannot plan statically."""
    w, dy = make_inputs(case)
    up = _upstream(case, case.dx_shape())
    _check(case, _graph_grads(case, w, dy, up, placeholders=True), w, dy, up, "placeholders")
    spec = tf.TensorSpec([None] * 4, DTYPES[case.dtype])
    fn = tf.function(lambda a, b, c: _tape_grads(case, a, b, c), input_signature=[spec] * 3)
    _check(case, fn(w, dy, up), w, dy, up, "tf.function, unknown shapes")


SECOND_ORDER_CASES = [
    Case("float64", "NHWC", 1, 5, 4, 2, 2, 3, 2, 3, (2, 2), (1, 1), ((1, 0), (1, 1)), seed=41),
    Case("float64", "NCHW", 1, 5, 5, 4, 2, 4, 2, 2, (1, 1), (2, 1), "SAME", seed=42),
    Case("float64", "NHWC", 2, 6, 5, 2, 2, 2, 2, 2, (2, 1), (2, 2), "VALID", seed=43),
    Case("float64", "NCHW", 1, 6, 4, 3, 3, 2, 3, 2, (2, 2), (1, 2), ((0, 2), (1, 0)), seed=44),
]


@pytest.mark.parametrize("case", SECOND_ORDER_CASES, ids=str)
def test_second_order_matches_numeric_jacobian(case):
    """The Jacobian of each first-order gradient (a second-order gradient of
    the op) against central differences of that first-order gradient, in
    float64; the first-order gradient itself is checked against the reference
    above."""
    w, dy = make_inputs(case)
    up = tf.constant(_upstream(case, case.dx_shape()))

    for index in (0, 1):
        def first_order(w_, dy_, index=index):
            return _tape_grads(case, w_, dy_, up)[index]
        theoretical, numerical = tf.test.compute_gradient(
            first_order, [tf.constant(w), tf.constant(dy)], delta=1e-5)
        for t, n in zip(theoretical, numerical):
            np.testing.assert_allclose(t, n, rtol=1e-6, atol=1e-6)
        # The mixed block is the only non-zero one: each first-order gradient
        # is linear in the other operand and constant in its own.
        assert np.abs(theoretical[1 - index]).max() > 0


@pytest.mark.parametrize("case", SECOND_ORDER_CASES[:2], ids=str)
def test_second_order_in_tf1_graph(case):
    """tf.gradients of tf.gradients, against the same numeric Jacobian
    contracted with a direction."""
    w, dy = make_inputs(case)
    up = _upstream(case, case.dx_shape())
    direction = np.random.default_rng(7).standard_normal(w.shape)
    graph = tf.Graph()
    with graph.as_default():
        w_t, dy_t = tf.constant(w), tf.constant(dy)
        loss = tf.reduce_sum(_call(case, w_t, dy_t) * up)
        g_w = tf.compat.v1.gradients(loss, w_t)[0]
        # d/d(dy) of <g_w, direction>
        second = tf.compat.v1.gradients(tf.reduce_sum(g_w * direction), dy_t)[0]
        with tf.compat.v1.Session(graph=graph) as sess:
            got = sess.run(second)
    # <g_w(dy), direction> is linear in dy: its gradient is the filter-gradient
    # reference's adjoint, i.e. d/d(dy) of sum(ref_dx(direction, dy) * up).
    _, want = conv2d_backprop_input_grads_ref(
        case.input_sizes(), direction, dy, up, case.strides(), case.padding_arg(),
        case.data_format, case.dilations())
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
