"""TF1-style code: tf.compat.v1 graphs with placeholders of unknown batch and
spatial size, tf.compat.v1.gradients, while_loop / cond around the op,
Session.run."""
import numpy as np
import tensorflow as tf

import tf_custom_op

v1 = tf.compat.v1


def _graph_with(builder):
    graph = tf.Graph()
    with graph.as_default():
        outputs = builder()
    return graph, outputs


def test_placeholders_of_unknown_size_gradients_and_session(rng):
    w_np = rng.standard_normal((3, 3, 2, 4)).astype(np.float32)
    dy_np = rng.standard_normal((3, 5, 6, 4)).astype(np.float32)

    def build(fn):
        def builder():
            dy = v1.placeholder(tf.float32, [None, None, None, 4], name="dy")
            w = v1.get_variable("w", initializer=w_np)
            shape = tf.stack([tf.shape(dy)[0], 2 * tf.shape(dy)[1], 2 * tf.shape(dy)[2], 2])
            dx = fn(shape, w, dy, [1, 2, 2, 1], "SAME")
            loss = tf.reduce_sum(dx * dx)
            grads = v1.gradients(loss, [w, dy])
            # Second order through the op's gradient.
            hess = v1.gradients(tf.reduce_sum(grads[1] * grads[1]), w)[0]
            return dy, dx, grads, hess
        return _graph_with(builder)

    results = []
    for fn in (tf_custom_op.conv2d_backprop_input, v1.nn.conv2d_backprop_input):
        graph, (dy, dx, grads, hess) = build(fn)
        assert dx.shape.as_list() == [None, None, None, 2]
        types = {op.type for op in graph.get_operations()}
        assert (tf_custom_op.OP_NAME in types) == (fn is tf_custom_op.conv2d_backprop_input)
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            results.append(sess.run([dx, grads, hess], {dy: dy_np}))
            # Another batch and spatial size in the same graph.
            other = sess.run(dx, {dy: dy_np[:1, :3, :2]})
            assert other.shape == (1, 6, 4, 2)
    ours, theirs = results
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-4, atol=1e-4)
    for a, b in zip(ours[1], theirs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-4, atol=1e-2)


def test_while_loop_and_cond_around_the_op(rng):
    w_np = rng.standard_normal((3, 3, 2, 2)).astype(np.float32) * 0.3
    x_np = rng.standard_normal((2, 6, 6, 2)).astype(np.float32)

    def build(fn):
        def builder():
            x = v1.placeholder(tf.float32, [None, None, None, 2])
            flag = v1.placeholder(tf.bool, [])
            w = tf.constant(w_np)

            def body(i, acc):
                step = fn(tf.shape(acc), w, acc, [1, 1, 1, 1], "SAME")
                return i + 1, step

            _, looped = tf.while_loop(lambda i, _: i < 3, body, [tf.constant(0), x])
            chosen = tf.cond(flag,
                             lambda: fn(tf.shape(looped), w, looped, [1, 1, 1, 1], "SAME"),
                             lambda: looped * 2.0)
            grad = v1.gradients(tf.reduce_sum(chosen * chosen), x)[0]
            return x, flag, chosen, grad
        return _graph_with(builder)

    outs = []
    for fn in (tf_custom_op.conv2d_backprop_input, v1.nn.conv2d_backprop_input):
        graph, (x, flag, chosen, grad) = build(fn)
        with v1.Session(graph=graph) as sess:
            outs.append([sess.run([chosen, grad], {x: x_np, flag: f}) for f in (True, False)])
    for ours, theirs in zip(outs[0], outs[1]):
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)


def test_patched_compat_v1_layers_graph(rng):
    """A TF1 model built with tf.compat.v1.nn.conv2d_transpose + conv2d while
    patched: the graph holds the custom op, a few SGD steps match unpatched."""
    x_np = rng.standard_normal((4, 8, 8, 3)).astype(np.float32)

    def train(patched):
        graph = tf.Graph()
        with graph.as_default():
            v1.set_random_seed(0)
            x = v1.placeholder(tf.float32, [None, 8, 8, 3])
            w1 = v1.get_variable("w1", [3, 3, 3, 6], initializer=v1.initializers.glorot_uniform(seed=1))
            w2 = v1.get_variable("w2", [3, 3, 3, 6], initializer=v1.initializers.glorot_uniform(seed=2))
            h = tf.nn.relu(tf.nn.conv2d(x, w1, [1, 2, 2, 1], "SAME"))
            y = v1.nn.conv2d_transpose(h, w2, tf.shape(x), [1, 2, 2, 1], "SAME")
            loss = tf.reduce_mean(tf.square(y - x))
            train_op = v1.train.GradientDescentOptimizer(0.1).minimize(loss)
            types = {op.type for op in graph.get_operations()}
            with v1.Session(graph=graph) as sess:
                sess.run(v1.global_variables_initializer())
                for _ in range(3):
                    sess.run(train_op, {x: x_np})
                return types, sess.run([w1, w2, loss], {x: x_np})

    types_tf, ref = train(False)
    with tf_custom_op.patched():
        types_ours, got = train(True)
    assert tf_custom_op.OP_NAME not in types_tf
    assert tf_custom_op.OP_NAME in types_ours and "Conv2DBackpropInput" not in types_ours
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
