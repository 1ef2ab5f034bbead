"""`python -m tf_custom_op.benchmark --models`: what a user sees.

One training step (forward, both gradients, Adam) of two models, traced once
with TensorFlow's ops and once under `tf_custom_op.patch()` (which routes the
transposed convolutions and the input gradients of Conv2D through our op),
timed interleaved in the same process, best of N and median:

- the TensorFlow DCGAN tutorial's generator and discriminator, batch 256
  (tensorflow.org/tutorials/generative/dcgan: 5x5 transposed convolutions
  7 -> 7 -> 14 -> 28, a 28x28 discriminator of two 5x5 stride-2 convolutions);
- a small U-Net decoder, batch 8: 2x2 stride-2 up-convolutions 16 -> 32 -> 64
  with 3x3 convolutions between them and a 1x1 RGB head.

Both are plain `tf.function`s (no XLA: XLA graphs keep TensorFlow's op).
"""
import statistics
import time


def _dcgan(keras):
    layers = keras.layers
    generator = keras.Sequential([
        keras.Input((100,)),
        layers.Dense(7 * 7 * 256, use_bias=False), layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Reshape((7, 7, 256)),
        layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
        layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
        layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False,
                               activation="tanh"),
    ])
    discriminator = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(64, 5, strides=2, padding="same"), layers.LeakyReLU(), layers.Dropout(0.3),
        layers.Conv2D(128, 5, strides=2, padding="same"), layers.LeakyReLU(), layers.Dropout(0.3),
        layers.Flatten(), layers.Dense(1),
    ])
    return generator, discriminator


def _dcgan_step(tf, keras, batch=256):
    """A train step of the DCGAN tutorial, as the tutorial writes it."""
    generator, discriminator = _dcgan(keras)
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    g_opt, d_opt = keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)
    images = tf.random.normal([batch, 28, 28, 1], seed=1)

    @tf.function(jit_compile=False)
    def step():
        noise = tf.random.normal([batch, 100])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = generator(noise, training=True)
            real_out = discriminator(images, training=True)
            fake_out = discriminator(fake, training=True)
            g_loss = cross_entropy(tf.ones_like(fake_out), fake_out)
            d_loss = cross_entropy(tf.ones_like(real_out), real_out) + \
                cross_entropy(tf.zeros_like(fake_out), fake_out)
        g_grads = g_tape.gradient(g_loss, generator.trainable_variables)
        d_grads = d_tape.gradient(d_loss, discriminator.trainable_variables)
        g_opt.apply_gradients(zip(g_grads, generator.trainable_variables))
        d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables))
        return g_loss + d_loss

    return step


def _unet_decoder_step(tf, keras, batch=8):
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((16, 16, 256)),
        layers.Conv2DTranspose(128, 2, strides=2, padding="valid"), layers.ReLU(),
        layers.Conv2D(128, 3, padding="same", activation="relu"),
        layers.Conv2D(128, 3, padding="same", activation="relu"),
        layers.Conv2DTranspose(64, 2, strides=2, padding="valid"), layers.ReLU(),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.Conv2D(3, 1),
    ])
    opt = keras.optimizers.Adam(1e-3)
    x = tf.random.normal([batch, 16, 16, 256], seed=2)
    target = tf.random.normal([batch, 64, 64, 3], seed=3)

    @tf.function(jit_compile=False)
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x, training=True) - target))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return step


MODELS = {"dcgan_tutorial_b256": _dcgan_step, "unet_decoder_b8": _unet_decoder_step}


def time_models(steps=10, warmup=3):
    """{model: {"tf_ms", "patched_ms" (best), "tf_median_ms", "patched_median_ms",
    "ratio" (TF's best / patched best), "custom_ops" (ours in the patched graph)}}."""
    import keras
    import tensorflow as tf

    import tf_custom_op
    results = {}
    for name, make in MODELS.items():
        plain = make(tf, keras)
        plain()  # traced with TensorFlow's ops
        before = tf_custom_op.patching.stats()["custom"]
        with tf_custom_op.patched():
            patched = make(tf, keras)
            patched()  # traced while patched: our op inside
        custom = tf_custom_op.patching.stats()["custom"] - before
        for _ in range(warmup):
            plain()
            patched()
        times = {"tf": [], "patched": []}
        for _ in range(steps):
            for label, fn in (("tf", plain), ("patched", patched)):
                start = time.perf_counter()
                float(fn())  # waits for the step
                times[label].append(time.perf_counter() - start)
        results[name] = {
            "tf_ms": min(times["tf"]) * 1e3,
            "patched_ms": min(times["patched"]) * 1e3,
            "tf_median_ms": statistics.median(times["tf"]) * 1e3,
            "patched_median_ms": statistics.median(times["patched"]) * 1e3,
            "ratio": min(times["tf"]) / min(times["patched"]),
            "custom_ops": custom,
        }
    return results


def print_models(results, threads, steps, file=None):
    print(f"training steps, threads={threads}, best (median) of {steps}, interleaved; "
          "ratio = TF time / patched time", file=file)
    print(f"{'model':24} {'TF ms':>16} {'patched ms':>18} {'ratio':>6}", file=file)
    for name, r in results.items():
        print(f"{name:24} {r['tf_ms']:7.1f} ({r['tf_median_ms']:6.1f}) "
              f"{r['patched_ms']:9.1f} ({r['patched_median_ms']:6.1f}) {r['ratio']:6.2f}",
              file=file)
