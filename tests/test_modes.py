"""Eager, tf.function (static shapes equal to the built-in's) and TF1 graphs
with placeholders of unknown batch; `name` names the op."""
import numpy as np
import pytest
import tensorflow as tf

import tf_custom_op

OURS = tf_custom_op.conv2d_backprop_input
TF = tf.compat.v1.nn.conv2d_backprop_input


def _data(rng, n=2):
    w = rng.standard_normal([3, 3, 4, 6]).astype(np.float32)
    dy = rng.standard_normal([n, 5, 5, 6]).astype(np.float32)
    return w, dy


def test_eager(rng):
    w, dy = _data(rng)
    assert tf.executing_eagerly()
    ours = OURS([2, 10, 10, 4], w, dy, [1, 2, 2, 1], "SAME")
    theirs = TF([2, 10, 10, 4], w, dy, [1, 2, 2, 1], "SAME")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-5)


def _static_shapes(sizes_fn, w_spec, dy_spec):
    """The static output shapes both ops get when traced with these specs."""
    shapes = {}
    for key, op in (("ours", OURS), ("tf", TF)):
        @tf.function(input_signature=[w_spec, dy_spec])
        def f(w, dy, op=op):
            out = op(sizes_fn(w, dy), w, dy, [1, 2, 2, 1], "SAME")
            shapes[key] = out.shape
            return out
        f.get_concrete_function()
    return shapes["ours"], shapes["tf"]


SPEC_W = tf.TensorSpec([3, 3, 4, 6], tf.float32)
STATIC_CASES = {
    "constant_list": (lambda w, dy: [2, 10, 10, 4], SPEC_W, tf.TensorSpec([2, 5, 5, 6])),
    "constant_tensor": (lambda w, dy: tf.constant([2, 10, 10, 4]), SPEC_W,
                        tf.TensorSpec([2, 5, 5, 6])),
    "unknown_batch_constant_sizes": (lambda w, dy: [2, 10, 10, 4], SPEC_W,
                                     tf.TensorSpec([None, 5, 5, 6])),
    "partially_constant": (lambda w, dy: tf.stack([tf.shape(dy)[0], 10, 10, 4]), SPEC_W,
                           tf.TensorSpec([None, 5, 5, 6])),
    "partially_constant_known_batch": (lambda w, dy: tf.stack([tf.shape(dy)[0], 10, 10, 4]),
                                       SPEC_W, tf.TensorSpec([2, 5, 5, 6])),
    "dynamic_spatial": (lambda w, dy: tf.stack([2, tf.shape(dy)[1] * 2, 10, 4]), SPEC_W,
                        tf.TensorSpec([2, None, 5, 6])),
    "shape_of_tensor": (lambda w, dy: tf.shape(tf.zeros([2, 10, 10, 4])), SPEC_W,
                        tf.TensorSpec([None, 5, 5, 6])),
    "two_values": (lambda w, dy: [10, 10], SPEC_W, tf.TensorSpec([None, 5, 5, 6])),
    "two_values_unknown_filter_depth": (lambda w, dy: [10, 10],
                                        tf.TensorSpec([3, 3, None, 6]),
                                        tf.TensorSpec([None, 5, 5, 6])),
    "unknown_filter": (lambda w, dy: [2, 10, 10, 4], tf.TensorSpec(None),
                       tf.TensorSpec([2, 5, 5, 6])),
    "unknown_everything": (lambda w, dy: tf.stack([tf.shape(dy)[0], tf.shape(dy)[1] * 2,
                                                   tf.shape(dy)[2] * 2, 4]),
                           tf.TensorSpec(None), tf.TensorSpec(None)),
}


@pytest.mark.parametrize("name", sorted(STATIC_CASES))
def test_static_shape_matches_builtin(name):
    sizes_fn, w_spec, dy_spec = STATIC_CASES[name]
    ours, theirs = _static_shapes(sizes_fn, w_spec, dy_spec)
    assert ours.rank == theirs.rank
    assert ours.as_list() == theirs.as_list(), (ours, theirs)


def test_partially_constant_input_sizes_shape():
    """The example in docs/CONTRACT.md section 4."""
    ours, _ = _static_shapes(lambda w, dy: tf.stack([tf.shape(dy)[0], 10, 10, 4]),
                             SPEC_W, tf.TensorSpec([None, 5, 5, 6]))
    assert ours.as_list() == [None, 10, 10, 4]


def test_tf_function_values_and_retracing(rng):
    @tf.function(input_signature=[tf.TensorSpec([None, 5, 5, 6], tf.float32)])
    def f(dy):
        return OURS(tf.stack([tf.shape(dy)[0], 10, 10, 4]), w, dy, [1, 2, 2, 1], "SAME")

    w, _ = _data(rng)
    for n in (1, 3, 0):
        dy = rng.standard_normal([n, 5, 5, 6]).astype(np.float32)
        ours = f(dy)
        theirs = TF([n, 10, 10, 4], w, dy, [1, 2, 2, 1], "SAME")
        assert ours.shape == (n, 10, 10, 4)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-5)


def test_tf_function_nchw_dilated_grouped(rng):
    """A configuration TF's CPU op refuses, traced in a function."""
    from support.cases import Case, make_inputs
    from support.compare import assert_close, reference, reference_abs
    case = Case("float32", "NCHW", 2, 9, 8, 6, 3, 4, 3, 2, (2, 1), (2, 3),
                ((1, 2), (0, 1)), seed=3)
    w, dy = make_inputs(case)
    f = tf.function(lambda w, dy: OURS(case.input_sizes(), w, dy, case.strides(),
                                       case.padding_arg(), data_format="NCHW",
                                       dilations=case.dilations()))
    assert_close(case, f(w, dy), reference(case, w, dy), reference_abs(case, w, dy),
                 "in tf.function")


def test_tf1_graph_session_unknown_batch(rng):
    w_val, _ = _data(rng)
    graph = tf.Graph()
    with graph.as_default():
        dy = tf.compat.v1.placeholder(tf.float32, [None, 5, 5, 6])
        w = tf.compat.v1.placeholder(tf.float32, [3, 3, 4, 6])
        sizes = tf.stack([tf.shape(dy)[0], 10, 10, 4])
        ours = OURS(sizes, w, dy, [1, 2, 2, 1], "SAME")
        theirs = TF(sizes, w, dy, [1, 2, 2, 1], "SAME")
        wrong = OURS(tf.stack([tf.shape(dy)[0], 12, 10, 4]), w, dy, [1, 2, 2, 1], "SAME")
        assert ours.shape.as_list() == theirs.shape.as_list() == [None, 10, 10, 4]
        with tf.compat.v1.Session(graph=graph) as sess:
            for n in (1, 3):
                dy_val = rng.standard_normal([n, 5, 5, 6]).astype(np.float32)
                a, b = sess.run([ours, theirs], {dy: dy_val, w: w_val})
                assert a.shape == (n, 10, 10, 4)
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
            with pytest.raises(tf.errors.InvalidArgumentError):
                sess.run(wrong, {dy: np.zeros([2, 5, 5, 6], np.float32), w: w_val})
    assert tf.executing_eagerly()


def test_tf1_graph_placeholder_input_sizes(rng):
    w_val, dy_val = _data(rng)
    graph = tf.Graph()
    with graph.as_default():
        sizes = tf.compat.v1.placeholder(tf.int32, [4])
        w = tf.compat.v1.placeholder(tf.float32, [3, 3, 4, 6])
        dy = tf.compat.v1.placeholder(tf.float32, [None, 5, 5, 6])
        ours = OURS(sizes, w, dy, [1, 2, 2, 1], "SAME")
        theirs = TF(sizes, w, dy, [1, 2, 2, 1], "SAME")
        assert ours.shape.as_list() == theirs.shape.as_list()
        with tf.compat.v1.Session(graph=graph) as sess:
            feed = {sizes: [2, 10, 10, 4], w: w_val, dy: dy_val}
            a, b = sess.run([ours, theirs], feed)
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
            feed[sizes] = [2, 9, 9, 4]  # also consistent with 5x5 at stride 2
            a, b = sess.run([ours, theirs], feed)
            assert a.shape == (2, 9, 9, 4)
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_name_names_the_op():
    graph = tf.Graph()
    with graph.as_default():
        out = OURS([1, 4, 4, 2], tf.ones([3, 3, 2, 3]), tf.ones([1, 4, 4, 3]),
                   [1, 1, 1, 1], "SAME", name="my_deconv")
        assert out.op.name == "my_deconv"
        assert out.op.type == tf_custom_op.OP_NAME
        assert graph.get_operation_by_name("my_deconv") is out.op
        with tf.name_scope("outer"):
            out2 = OURS([1, 4, 4, 2], tf.ones([3, 3, 2, 3]), tf.ones([1, 4, 4, 3]),
                        [1, 1, 1, 1], "SAME", name="inner")
        assert out2.op.name == "outer/inner"


def test_attributes_recorded_on_the_op():
    graph = tf.Graph()
    with graph.as_default():
        out = OURS([1, 2, 7, 6], tf.ones([3, 3, 2, 3]), tf.ones([1, 3, 4, 3]),
                   [1, 1, 2, 2], [[0, 0], [0, 0], [1, 2], [0, 1]],
                   data_format="NCHW", dilations=[1, 1, 1, 1], use_cudnn_on_gpu=False)
        op = out.op
        assert op.get_attr("padding") == b"EXPLICIT"
        assert list(op.get_attr("explicit_paddings")) == [0, 0, 0, 0, 1, 2, 0, 1]
        assert op.get_attr("data_format") == b"NCHW"
        assert list(op.get_attr("strides")) == [1, 1, 2, 2]
        assert op.get_attr("use_cudnn_on_gpu") is False
        assert op.get_attr("T") == tf.float32
