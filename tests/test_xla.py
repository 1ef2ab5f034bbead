"""Under XLA (tf.function(jit_compile=True), Keras jit_compile=True) the op is
lowered to a custom call of our own CPU kernel (cc/xla/): the compiled HLO
holds the custom call, the results equal the op outside XLA bit for bit, the
wrappers, the patch and the gradients reach it, invalid ops fail to compile
with the TF kernel's errors, and where the lowering does not serve the
graph (TF_CUSTOM_OP_XLA=0, a library without it) TF's op is used instead."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

import tf_custom_op
from tf_custom_op import _loader, _routing, patching

CUSTOM = tf_custom_op.OP_NAME
TARGET = "tf_custom_op_conv2d_backprop_input_host"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.skipif("CPU" not in _loader.xla_lowering_devices(),
                                reason="library built without the XLA lowering")


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


def _hlo(function, *args):
    return function.experimental_get_compiler_ir(*args)(stage="hlo")


# (name, input_sizes NHWC, filter, dy NHWC, strides, padding, dilations,
# explicit paddings NHWC): stride, dilation, groups, explicit padding, a
# shape the Winograd engine takes, and one whose dx is bigger than its
# padding leaves dy (rows only the padding reaches).
CONFIGS = [
    ("s2_same", [2, 8, 10, 3], (3, 3, 3, 4), (2, 4, 5, 4), [2, 2], "SAME", [1, 1], None),
    ("dilated_valid", [1, 9, 9, 2], (3, 3, 2, 5), (1, 5, 5, 5), [1, 1], "VALID", [2, 2], None),
    ("grouped", [2, 6, 6, 8], (3, 3, 2, 8), (2, 6, 6, 8), [1, 1], "SAME", [1, 1], None),
    ("explicit", [1, 7, 6, 2], (2, 3, 2, 3), (1, 4, 3, 3), [2, 2], "EXPLICIT", [1, 1],
     [0, 0, 1, 0, 0, 1, 0, 0]),
    ("winograd_3x3", [2, 16, 16, 32], (3, 3, 32, 32), (2, 16, 16, 32), [1, 1], "SAME",
     [1, 1], None),
]
DTYPES = [tf.float32, tf.float16, tf.bfloat16, tf.float64, tf.int32]


def _nchw(values):
    return [values[0], values[3], values[1], values[2]]


def _case(rng, config, dtype, data_format):
    _, sizes, w_shape, dy_shape, strides, padding, dilations, explicit = config
    w = tf.cast(rng.integers(-3, 4, w_shape) if dtype == tf.int32
                else rng.standard_normal(w_shape) * 2, dtype)
    dy = rng.integers(-3, 4, dy_shape) if dtype == tf.int32 else rng.standard_normal(dy_shape)
    attrs = dict(strides=[1, *strides, 1], dilations=[1, *dilations, 1], padding=padding,
                 explicit_paddings=explicit or [], data_format=data_format)
    if data_format == "NCHW":
        sizes, dy = _nchw(sizes), np.transpose(dy, (0, 3, 1, 2))
        attrs.update(strides=_nchw(attrs["strides"]), dilations=_nchw(attrs["dilations"]))
        if explicit:
            pairs = [explicit[i:i + 2] for i in range(0, 8, 2)]
            attrs["explicit_paddings"] = sum(_nchw(pairs), [])
    return sizes, w, tf.cast(dy, dtype), attrs


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c[0])
def test_jit_compile_runs_our_custom_call_bit_for_bit(rng, config, dtype, data_format):
    sizes, w, dy, attrs = _case(rng, config, dtype, data_format)
    raw = _loader.raw_op()

    def body(w, dy):
        return raw(input_sizes=sizes, filter=w, out_backprop=dy, **attrs)

    jitted = tf.function(body, jit_compile=True)
    hlo = _hlo(jitted, w, dy)
    assert f'custom_call_target="{TARGET}"' in hlo
    assert "convolution(" not in hlo
    got, expected = jitted(w, dy).numpy(), body(w, dy).numpy()
    assert got.dtype == expected.dtype and got.shape == expected.shape
    # The same engine on the same data: the same bits (NaN-free data).
    np.testing.assert_array_equal(got.view(np.uint8), expected.view(np.uint8))
    # And they are TF's values (its CPU op runs NHWC, undilated, ungrouped),
    # within the dtype's rounding.
    if data_format == "NHWC" and config[0] not in ("grouped", "dilated_valid"):
        reference = tf.raw_ops.Conv2DBackpropInput(
            input_sizes=sizes, filter=tf.cast(w, tf.float64),
            out_backprop=tf.cast(dy, tf.float64), **attrs).numpy()
        tolerance = {tf.float16: 2e-2, tf.bfloat16: 6e-2}.get(dtype, 1e-5)
        np.testing.assert_allclose(got.astype(np.float64), reference,
                                   atol=tolerance * np.abs(reference).max())


def test_algorithm_attribute_reaches_the_custom_call(rng):
    sizes, w, dy, attrs = _case(rng, CONFIGS[-1], tf.float32, "NHWC")

    def body(w, dy):
        return tf_custom_op.conv2d_backprop_input(sizes, w, dy, attrs["strides"], "SAME")

    with tf_custom_op.algorithm("direct"):
        direct = tf.function(body, jit_compile=True)
        direct_hlo = _hlo(direct, w, dy)
    winograd = tf.function(body, jit_compile=True)
    assert "algorithm = 1 : i64" in direct_hlo  # ConvAlgorithm::kDirect
    assert "algorithm = 0 : i64" in _hlo(winograd, w, dy)
    eager_direct = None
    with tf_custom_op.algorithm("direct"):
        eager_direct = body(w, dy)
    np.testing.assert_array_equal(direct(w, dy).numpy(), eager_direct.numpy())


def test_wrappers_under_jit_compile_use_the_custom_op(tensors):
    x, w, dy = tensors
    shape = x.shape

    def body(dy):
        return (tf_custom_op.conv2d_backprop_input(shape, w, dy, [1, 2, 2, 1], "SAME"),
                tf_custom_op.conv2d_transpose(dy, w, shape, 2, "SAME"),
                tf_custom_op.conv2d_transpose_v1(dy, w, shape, [1, 2, 2, 1], "SAME"))

    jitted = tf.function(body, jit_compile=True)
    expected = body(dy)  # eager: the custom op
    for g, e in zip(jitted(dy), expected):
        np.testing.assert_array_equal(g.numpy(), e.numpy())
    jit_types = [op.type for op in jitted.get_concrete_function(dy).graph.get_operations()]
    assert jit_types.count(CUSTOM) == 3 and "Conv2DBackpropInput" not in jit_types
    assert _hlo(jitted, dy).count(f'custom_call_target="{TARGET}"') == 3


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
        jitted = tf.function(loss_and_grads, jit_compile=True)
        got = jitted(x)
        # conv2d_transpose's forward and the input gradient of conv2d.
        assert patching.stats()["custom_under_xla"] >= 2 and patching.stats()["builtin"] == 0
        assert f'custom_call_target="{TARGET}"' in _hlo(jitted, x)
        got_plain = tf.function(loss_and_grads)(x)
    for g, p, e in zip(got, got_plain, expected):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(g.numpy(), p.numpy(), rtol=1e-5, atol=1e-5)


def test_second_order_gradient_under_jit_compile(tensors):
    x, w, dy = tensors

    def grads(w, dy):
        with tf.GradientTape() as outer:
            outer.watch(w)
            with tf.GradientTape() as inner:
                inner.watch(dy)
                dx = tf_custom_op.conv2d_backprop_input(x.shape, w, dy, [1, 2, 2, 1], "SAME")
                loss = tf.reduce_sum(dx * dx)
            g = inner.gradient(loss, dy)
            second = tf.reduce_sum(g * g)
        return outer.gradient(second, w)

    np.testing.assert_allclose(tf.function(grads, jit_compile=True)(w, dy).numpy(),
                               grads(w, dy).numpy(), rtol=1e-4, atol=1e-3)


def test_backward_of_jit_function_built_outside_xla(tensors):
    """The backward function of a jit_compile function is compiled by XLA even
    when TF traces it later from a non-XLA function."""
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


def test_nested_plain_function_inside_jit(tensors):
    _, w, dy = tensors
    inner = tf.function(lambda dy: tf_custom_op.conv2d_transpose(dy, w, [2, 8, 10, 2], 2, "SAME"))
    outer = tf.function(lambda dy: inner(dy) * 2.0, jit_compile=True)
    expected = 2.0 * tf.nn.conv2d_transpose(dy, w, [2, 8, 10, 2], 2, "SAME")
    np.testing.assert_allclose(outer(dy).numpy(), expected.numpy(), rtol=1e-5, atol=1e-4)
    assert f'custom_call_target="{TARGET}"' in _hlo(outer, dy)


@pytest.mark.parametrize("how", ["environment", "library_without_lowering"])
def test_fallback_to_builtin_where_the_lowering_does_not_serve(tensors, monkeypatch, how):
    x, w, dy = tensors
    if how == "environment":
        monkeypatch.setenv("TF_CUSTOM_OP_XLA", "0")
    else:
        monkeypatch.setattr(_loader, "xla_lowering_devices", lambda: frozenset())
    assert not _routing.xla_lowering_serves()
    body = lambda dy: tf_custom_op.conv2d_transpose(dy, w, x.shape, 2, "SAME")  # noqa: E731
    jitted = tf.function(body, jit_compile=True)
    hlo = _hlo(jitted, dy)
    assert TARGET not in hlo and "convolution(" in hlo
    np.testing.assert_allclose(jitted(dy).numpy(), body(dy).numpy(), rtol=1e-5, atol=1e-4)


def test_invalid_op_fails_to_compile_with_the_kernels_error(tensors):
    _, w, dy = tensors
    raw = _loader.raw_op()
    # Stride 3 with SAME: dy should be 3x4, not 4x5.
    call = lambda w, dy: raw(input_sizes=[2, 8, 10, 2], filter=w, out_backprop=dy,  # noqa: E731
                             strides=[1, 3, 3, 1], padding="SAME")
    with pytest.raises(tf.errors.InvalidArgumentError) as eager:
        call(w, dy)
    with pytest.raises(tf.errors.InvalidArgumentError) as jitted:
        tf.function(call, jit_compile=True)(w, dy)
    assert "Size of out_backprop doesn't match computed" in str(eager.value)
    assert "Size of out_backprop doesn't match computed" in str(jitted.value)
    # An attribute the kernel refuses at construction.
    bad_dilation = lambda w, dy: raw(input_sizes=[2, 8, 10, 2], filter=w,  # noqa: E731
                                     out_backprop=dy, strides=[1, 2, 2, 1], padding="SAME",
                                     dilations=[1, 0, 1, 1])
    with pytest.raises(tf.errors.InvalidArgumentError, match="Dilated rates should be larger"):
        tf.function(bad_dilation, jit_compile=True)(w, dy)


def test_input_sizes_must_be_a_compile_time_constant(tensors):
    x, w, dy = tensors
    raw = _loader.raw_op()
    expected = tf_custom_op.conv2d_backprop_input(x.shape, w, dy, [1, 2, 2, 1], "SAME")
    # A variable's value is one: XLA compiles for it.
    sizes = tf.Variable([2, 8, 10, 2])
    from_variable = tf.function(lambda w, dy: raw(
        input_sizes=sizes.read_value(), filter=w, out_backprop=dy, strides=[1, 2, 2, 1],
        padding="SAME"), jit_compile=True)
    np.testing.assert_array_equal(from_variable(w, dy).numpy(), expected.numpy())
    # A random one is not: a compile error, as for TF's op.
    for op in (raw, tf.raw_ops.Conv2DBackpropInput):
        random_sizes = tf.function(lambda w, dy, op=op: op(
            input_sizes=tf.cast(tf.random.uniform([4], 1.0, 1.5), tf.int32) * [2, 8, 10, 2],
            filter=w, out_backprop=dy, strides=[1, 2, 2, 1], padding="SAME"), jit_compile=True)
        with pytest.raises(tf.errors.InvalidArgumentError, match="compile-time constant"):
            random_sizes(w, dy)


def _run_python(code, **env):
    environ = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3", **env)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=environ, timeout=300)


def test_library_loaded_after_a_first_xla_compile():
    """XLA registers REGISTER_XLA_OP kernels once, at its first compilation;
    our kernel must still be found when the package is imported after it."""
    done = _run_python(f"""
        import tensorflow as tf
        tf.function(lambda x: x * 2, jit_compile=True)(tf.ones([2]))
        import tf_custom_op
        w, dy = tf.ones([3, 3, 2, 4]), tf.ones([1, 4, 4, 4])
        f = tf.function(lambda w, dy: tf_custom_op.conv2d_transpose(dy, w, [1, 8, 8, 2], 2,
                                                                    "SAME"), jit_compile=True)
        assert '{TARGET}' in f.experimental_get_compiler_ir(w, dy)(stage="hlo")
        expected = tf.nn.conv2d_transpose(dy, w, [1, 8, 8, 2], 2, "SAME")
        assert bool(tf.reduce_all(tf.abs(f(w, dy) - expected) < 1e-4))
        print("ok")
    """)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]


def test_run_time_error_in_the_custom_call_is_an_error_not_a_crash():
    """A setting the custom call refuses when it runs (an unknown
    TF_CUSTOM_OP_ALGORITHM, bypassing the package's check at load) fails the
    call with TF_CUSTOM_OP_ALGORITHM's message."""
    done = _run_python(f"""
        import tensorflow as tf
        module = tf.load_op_library({_loader.library_path()!r})
        w, dy = tf.ones([3, 3, 2, 4]), tf.ones([1, 4, 4, 4])
        f = tf.function(lambda w, dy: module.tf_custom_op_conv2d_backprop_input(
            input_sizes=[1, 8, 8, 2], filter=w, out_backprop=dy, strides=[1, 2, 2, 1],
            padding="SAME"), jit_compile=True)
        try:
            f(w, dy)
        except tf.errors.OpError as err:
            print(type(err).__name__, "TF_CUSTOM_OP_ALGORITHM" in str(err))
    """, TF_CUSTOM_OP_ALGORITHM="bogus")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-1] == "True", done.stdout


def test_keras_jit_compiled_fit_while_patched_matches_plain_fit():
    """The README's patched Keras model, compiled with jit_compile=True: it
    trains through our custom call and reaches the weights of the same fit
    without XLA."""
    keras = pytest.importorskip("keras")

    def model():
        keras.utils.set_random_seed(1)
        return keras.Sequential([
            keras.Input((16, 16, 3)),
            keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2DTranspose(3, 3, strides=2, padding="same"),
        ])

    x = np.random.default_rng(0).random((8, 16, 16, 3)).astype(np.float32)
    results = []
    for jit in (True, False):
        m = model()
        m.compile(optimizer="adam", loss="mse", jit_compile=jit)
        with tf_custom_op.patched():
            patching.reset_stats()
            history = m.fit(x, x, epochs=3, batch_size=8, shuffle=False, verbose=0)
            # Conv2DTranspose's forward (the Conv2D's input is data: no
            # input gradient).
            assert patching.stats()["custom"] >= 1 and patching.stats()["builtin"] == 0
            # Built for XLA exactly when Keras compiles with it.
            assert (patching.stats()["custom_under_xla"] >= 1) == jit
        results.append((m.get_weights(), history.history["loss"]))
    (jit_weights, jit_loss), (weights, loss) = results
    assert np.isfinite(jit_loss).all() and jit_loss[-1] < jit_loss[0]
    np.testing.assert_allclose(jit_loss, loss, rtol=1e-4)
    for a, b in zip(jit_weights, weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
