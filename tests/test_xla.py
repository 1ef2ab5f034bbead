"""Inside tf.function(jit_compile=True) the wrappers and the patch route to
TensorFlow's built-in op (which XLA compiles) instead of failing; outside XLA
the custom op is used."""
import numpy as np
import pytest
import tensorflow as tf

import tf_custom_op
from tf_custom_op import patching

CUSTOM = tf_custom_op.OP_NAME


@pytest.fixture(autouse=True)
def _unpatched():
    tf_custom_op.unpatch()
    yield
    tf_custom_op.unpatch()


@pytest.fixture
def tensors(rng):
    w = tf.constant(rng.standard_normal((3, 3, 2, 4)), tf.float32)
    dy = tf.constant(rng.standard_normal((2, 4, 5, 4)), tf.float32)
    x = tf.constant(rng.standard_normal((2, 8, 10, 2)), tf.float32)
    return x, w, dy


def test_wrappers_under_jit_compile_use_builtin_op(tensors):
    x, w, dy = tensors
    shape = x.shape

    def body(dy):
        return (tf_custom_op.conv2d_backprop_input(shape, w, dy, [1, 2, 2, 1], "SAME"),
                tf_custom_op.conv2d_transpose(dy, w, shape, 2, "SAME"),
                tf_custom_op.conv2d_transpose_v1(dy, w, shape, [1, 2, 2, 1], "SAME"))

    jitted = tf.function(body, jit_compile=True)
    plain = tf.function(body)
    expected = body(dy)  # eager: the custom op
    got = jitted(dy)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-5, atol=1e-4)
    assert CUSTOM in [op.type for op in plain.get_concrete_function(dy).graph.get_operations()]
    # The jit function's graph holds the built-in op (XLA compiled it above).
    jit_types = [op.type for op in jitted.get_concrete_function(dy).graph.get_operations()]
    assert CUSTOM not in jit_types and "Conv2DBackpropInput" in jit_types


def test_patched_gradients_under_jit_compile(tensors):
    x, w, _ = tensors
    wv = tf.Variable(w)

    def loss_and_grads(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.nn.conv2d(x, wv, 2, "SAME")
            z = tf.nn.conv2d_transpose(y, wv, tf.shape(x), 2, "SAME")
            loss = tf.reduce_sum(z * z)
        return [loss] + tape.gradient(loss, [x, wv])

    expected = loss_and_grads(x)
    with tf_custom_op.patched():
        patching.reset_stats()
        got = tf.function(loss_and_grads, jit_compile=True)(x)
        assert patching.stats()["builtin"] >= 2 and patching.stats()["custom"] == 0
        got_plain = tf.function(loss_and_grads)(x)
        assert patching.stats()["custom"] >= 2
    for g, p, e in zip(got, got_plain, expected):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(p.numpy(), e.numpy(), rtol=1e-4, atol=1e-3)


def test_backward_of_jit_function_built_outside_xla(tensors):
    """The backward function of a jit_compile function is compiled by XLA even
    when TF traces it later from a non-XLA function: it must keep the built-in
    op too."""
    x, w, _ = tensors
    wv = tf.Variable(w)
    with tf_custom_op.patched():
        forward = tf.function(lambda x: tf.reduce_sum(tf.nn.conv2d(x, wv, 1, "SAME") ** 2),
                              jit_compile=True)
        forward(x)  # traced (and compiled) without a tape first

        @tf.function
        def outer(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = forward(x)
            return tape.gradient(y, x)

        got = outer(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(tf.nn.conv2d(x, wv, 1, "SAME") ** 2)
    np.testing.assert_allclose(got.numpy(), tape.gradient(y, x).numpy(), rtol=1e-4, atol=1e-3)


def test_nested_plain_function_inside_jit_uses_builtin(tensors):
    _, w, dy = tensors
    inner = tf.function(lambda dy: tf_custom_op.conv2d_transpose(dy, w, [2, 8, 10, 2], 2, "SAME"))
    outer = tf.function(lambda dy: inner(dy) * 2.0, jit_compile=True)
    expected = 2.0 * tf.nn.conv2d_transpose(dy, w, [2, 8, 10, 2], 2, "SAME")
    np.testing.assert_allclose(outer(dy).numpy(), expected.numpy(), rtol=1e-5, atol=1e-4)


def test_keras_jit_compiled_fit_while_patched():
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((6, 6, 2)),
        keras.layers.Conv2D(4, 3, strides=2, padding="same"),
        keras.layers.Conv2DTranspose(2, 3, strides=2, padding="same"),
    ])
    model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    x = np.random.default_rng(0).standard_normal((4, 6, 6, 2)).astype(np.float32)
    with tf_custom_op.patched():
        history = model.fit(x, x, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
