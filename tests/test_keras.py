"""Keras Conv2D / Conv2DTranspose training with and without the patch reaches
the same weights, and the patched run really uses the custom op."""
import numpy as np
import pytest
import tensorflow as tf

import tf_custom_op
from tf_custom_op import patching

keras = pytest.importorskip("keras")


def _model():
    inputs = keras.Input((8, 8, 3))
    h = keras.layers.Conv2D(6, 3, strides=2, padding="same", activation="relu")(inputs)
    h = keras.layers.Conv2D(6, 3, padding="same", dilation_rate=1, activation="tanh")(h)
    outputs = keras.layers.Conv2DTranspose(3, 4, strides=2, padding="same")(h)
    return keras.Model(inputs, outputs)


def _train(initial_weights, x, y, jit_compile=False, steps=3):
    model = _model()
    model.set_weights(initial_weights)
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", jit_compile=jit_compile)
    history = model.fit(x, y, batch_size=4, epochs=steps, shuffle=False, verbose=0)
    return model.get_weights(), history.history["loss"], model


@pytest.fixture(scope="module")
def problem():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 8, 8, 3)).astype(np.float32)
    y = np.tanh(x[..., ::-1]).astype(np.float32)
    return _model().get_weights(), x, y


def test_fit_with_and_without_patch_reaches_same_weights(problem):
    initial, x, y = problem
    tf_custom_op.unpatch()
    ref_weights, ref_loss, _ = _train(initial, x, y)
    patching.reset_stats()
    with tf_custom_op.patched():
        weights, loss, model = _train(initial, x, y)
        predicted = model.predict(x, verbose=0)
    # Traced while patched: Conv2DTranspose forward and the input gradients
    # of both Conv2D layers... (the first Conv2D needs none: its input is data).
    assert patching.stats()["custom"] >= 3
    assert not tf_custom_op.is_patched()
    for got, ref in zip(weights, ref_weights):
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-4)
    assert loss[-1] < loss[0]
    # Inference after unpatch: the model's predict function was traced while
    # patched and keeps the custom op; a fresh call matches TF's op.
    np.testing.assert_allclose(predicted, _model_with(weights)(x), rtol=1e-4, atol=1e-5)


def _model_with(weights):
    model = _model()
    model.set_weights(weights)
    return lambda x: model(x, training=False).numpy()


def test_custom_training_loop_graph_uses_custom_op(problem):
    initial, x, y = problem
    model = _model()
    model.set_weights(initial)
    optimizer = keras.optimizers.SGD(0.05)

    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x, training=True) - y))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    with tf_custom_op.patched():
        graph = tf.function(step).get_concrete_function(
            tf.TensorSpec([None, 8, 8, 3]), tf.TensorSpec([None, 8, 8, 3])).graph
    types = [op.type for op in graph.get_operations()]
    # Conv2DTranspose forward + Conv2D (2nd layer) input gradient.
    assert types.count(tf_custom_op.OP_NAME) == 2
    assert "Conv2DBackpropInput" not in types
