"""The Winograd algorithm of the CPU kernel and the setting that chooses it.

The bound (docs/CONTRACT.md, "Winograd"): a float32 dx computed with Winograd
is within 2e-5 x max|dx| of the same sums in float64, on random data, on data
of mixed magnitude (each channel scaled by 10^U(-2, 2)) and on adversarial
data (large magnitudes, alternating signs). The reference is the op in
float64 (direct sums in double). The setting (`tf_custom_op.algorithm`, TF_CUSTOM_OP_ALGORITHM) must
reach the kernel: "direct" and "winograd" give different bits where Winograd
applies, "auto" gives Winograd's bits on a shape it chooses.
"""
import numpy as np
import pytest
import tensorflow as tf

import tf_custom_op
from tf_custom_op.geometry import output_size
from support.processes import run_python

BOUND = 2e-5

# (name, N, H, W, C, R, S, K, stride, dilation, padding, data_format)
SHAPES = [
    ("3x3_s1", 2, 12, 13, 40, 3, 3, 48, 1, 1, "SAME", "NHWC"),
    ("3x3_s1_valid_tails", 1, 11, 10, 33, 3, 3, 35, 1, 1, "VALID", "NHWC"),
    ("4x4_s2", 2, 12, 10, 36, 4, 4, 40, 2, 1, "SAME", "NHWC"),
    ("5x5_s2", 1, 13, 11, 34, 5, 5, 38, 2, 1, "SAME", "NHWC"),
    ("3x3_s2", 2, 9, 12, 32, 3, 3, 44, 2, 1, "SAME", "NHWC"),
    ("3x3_d2_s2", 1, 12, 12, 32, 3, 3, 32, 2, 2, "SAME", "NHWC"),
    ("3x3_s1_nchw", 1, 9, 11, 36, 3, 3, 40, 1, 1, "SAME", "NCHW"),
    ("3x3_s1_k1024", 1, 6, 6, 64, 3, 3, 1024, 1, 1, "SAME", "NHWC"),
    ("5x5_s1", 2, 9, 10, 34, 5, 5, 36, 1, 1, "SAME", "NHWC"),
    ("5x5_s1_k512", 1, 7, 7, 64, 5, 5, 512, 1, 1, "SAME", "NHWC"),
]


def _ids(shapes):
    return [s[0] for s in shapes]


def _order(nhwc, data_format):
    n, h, w, c = nhwc
    return list(nhwc) if data_format == "NHWC" else [n, c, h, w]


def _operands(shape, data, seed=0):
    """input_sizes, filter and dy (float32 NumPy) and the op's keyword args."""
    _, n, h, w, c, r, s, k, stride, dilation, padding, fmt = shape
    rng = np.random.default_rng(seed)
    strides = _order([1, stride, stride, 1], fmt)
    dilations = _order([1, dilation, dilation, 1], fmt)
    filt = rng.standard_normal([r, s, c, k]).astype(np.float32)
    dy_shape = _order([n, output_size(h, r, stride, dilation, padding),
                       output_size(w, s, stride, dilation, padding), k], fmt)
    dy = rng.standard_normal(dy_shape).astype(np.float32)
    k_axis = 3 if fmt == "NHWC" else 1
    if data in ("mixed", "adversarial"):
        k_scale = 10.0 ** rng.uniform(-2, 2, k)
        c_scale = 10.0 ** rng.uniform(-2, 2, c)
        shape_k = [1] * 4
        shape_k[k_axis] = k
        dy = (dy * k_scale.reshape(shape_k)).astype(np.float32)
        filt = (filt * c_scale.reshape(1, 1, c, 1) * k_scale.reshape(1, 1, 1, k)).astype(np.float32)
    if data == "adversarial":
        # Large values of one sign beside large values of the other: the
        # transforms' sums cancel, where rounding errors show most.
        dy = (np.abs(dy) * 1e4 * np.where(np.indices(dy.shape).sum(0) % 2 == 0, 1, -1)).astype(np.float32)
        filt = (np.abs(filt) * 1e3).astype(np.float32)
    kwargs = dict(strides=strides, padding=padding, data_format=fmt, dilations=dilations)
    return _order([n, h, w, c], fmt), filt, dy, kwargs


def _ours(sizes, filt, dy, kwargs, algorithm, dtype=tf.float32):
    with tf_custom_op.algorithm(algorithm):
        return tf_custom_op.conv2d_backprop_input(
            sizes, tf.cast(filt, dtype), tf.cast(dy, dtype), **kwargs)


def _reference64(sizes, filt, dy, kwargs):
    # Our float64 kernel: direct sums in double, checked against TF's op in
    # test_tf_cases.py (TF's own float64 CPU op refuses dilation and NCHW).
    return _ours(sizes, filt, dy, kwargs, "direct", tf.float64).numpy()


def _relative_error(got, want):
    return float(np.max(np.abs(np.asarray(got, np.float64) - want)) / np.max(np.abs(want)))


@pytest.mark.parametrize("data", ["random", "mixed", "adversarial"])
@pytest.mark.parametrize("shape", SHAPES, ids=_ids(SHAPES))
def test_winograd_within_bound_of_float64(shape, data):
    sizes, filt, dy, kwargs = _operands(shape, data)
    want = _reference64(sizes, filt, dy, kwargs)
    error = _relative_error(_ours(sizes, filt, dy, kwargs, "winograd"), want)
    assert error <= BOUND, f"{shape[0]} ({data}): Winograd error {error:.3g} of max|dx|"


@pytest.mark.parametrize("shape", SHAPES[:3], ids=_ids(SHAPES[:3]))
def test_setting_reaches_the_kernel(shape):
    sizes, filt, dy, kwargs = _operands(shape, "random", seed=3)
    direct = _ours(sizes, filt, dy, kwargs, "direct").numpy()
    winograd = _ours(sizes, filt, dy, kwargs, "winograd").numpy()
    want = _reference64(sizes, filt, dy, kwargs)
    # Direct convolution is exact sums of every tap: an order of magnitude
    # closer than Winograd's bound; Winograd's bits differ from it.
    assert _relative_error(direct, want) <= 2e-6
    assert not np.array_equal(direct, winograd)


def test_auto_chooses_winograd_on_a_3x3_layer():
    # 64 tiles of 4x4 per phase, 40 and 48 channels: WinogradEngine::Chosen.
    shape = ("3x3_s1_chosen", 4, 16, 16, 40, 3, 3, 48, 1, 1, "SAME", "NHWC")
    sizes, filt, dy, kwargs = _operands(shape, "random", seed=4)
    auto = _ours(sizes, filt, dy, kwargs, "auto").numpy()
    winograd = _ours(sizes, filt, dy, kwargs, "winograd").numpy()
    direct = _ours(sizes, filt, dy, kwargs, "direct").numpy()
    assert np.array_equal(auto, winograd) and not np.array_equal(auto, direct)


def test_auto_stays_direct_where_winograd_is_not_chosen():
    # Few channels: the transforms would cost more than they save.
    shape = ("3x3_s1_c8", 1, 9, 9, 8, 3, 3, 8, 1, 1, "SAME", "NHWC")
    sizes, filt, dy, kwargs = _operands(shape, "random", seed=5)
    auto = _ours(sizes, filt, dy, kwargs, "auto").numpy()
    direct = _ours(sizes, filt, dy, kwargs, "direct").numpy()
    assert np.array_equal(auto, direct)


def test_deep_tier_of_the_selection_rule():
    """3x3 stride 2 (GEMMs 0.69 of direct): Winograd where 1/C + 1/K is small
    enough (C 256, K 512), direct at C = K = 256 and at 64 (the measurements
    at kWinogradDeepTransformShare, winograd_engine.h)."""
    from tf_custom_op import _loader
    from tf_custom_op.benchmark import suite

    def algorithm(c, k):
        layer = dict(name="3x3_s2", N=8, H=32, W=32, C=c, R=3, S=3, K=k, stride=2,
                     dilation=1, padding="SAME")
        return _loader.cpu_algorithm(suite.Case(layer).problem_fields())

    assert algorithm(256, 512) == "winograd"
    assert algorithm(512, 256) == "winograd"
    assert algorithm(256, 256) == "direct"
    assert algorithm(64, 64) == "direct"


@pytest.mark.parametrize("dtype", [tf.float16, tf.bfloat16])
def test_half_precision_dtypes_transform_in_float(dtype):
    sizes, filt, dy, kwargs = _operands(SHAPES[0], "random", seed=7)
    filt = tf.cast(tf.cast(filt, dtype), tf.float32).numpy()
    dy = tf.cast(tf.cast(dy, dtype), tf.float32).numpy()
    got = _ours(sizes, filt, dy, kwargs, "winograd", dtype)
    want = _reference64(sizes, filt, dy, kwargs)
    # One rounding of dx to the dtype dominates Winograd's float error.
    eps = {tf.float16: 2.0 ** -11, tf.bfloat16: 2.0 ** -8}[dtype]
    assert got.dtype == dtype
    assert _relative_error(tf.cast(got, tf.float64).numpy(), want) <= eps + BOUND


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_non_finite_dy_matches_tensorflow(value):
    sizes, filt, dy, kwargs = _operands(SHAPES[0], "random", seed=9)
    dy = dy.copy()
    dy[0, 3, 4, 5] = value
    got = _ours(sizes, filt, dy, kwargs, "winograd").numpy()
    want = tf.compat.v1.nn.conv2d_backprop_input(sizes, filt, dy, **kwargs).numpy()
    # A transform would spread the value over its tile's neighbours; the
    # tile is computed directly instead, so NaN and Inf land where TF's do.
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isinf(got) & (got > 0), np.isinf(want) & (want > 0))
    finite = np.isfinite(want)
    assert _relative_error(got[finite], want[finite].astype(np.float64)) <= BOUND


def test_non_finite_filter_falls_back_to_direct():
    sizes, filt, dy, kwargs = _operands(SHAPES[0], "random", seed=11)
    filt = filt.copy()
    filt[0, 0, 2, 3] = np.inf
    got = _ours(sizes, filt, dy, kwargs, "winograd").numpy()
    want = tf.compat.v1.nn.conv2d_backprop_input(sizes, filt, dy, **kwargs).numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))


def test_traced_function_keeps_the_setting_it_was_traced_under():
    sizes, filt, dy, kwargs = _operands(SHAPES[0], "random")

    @tf.function
    def step(f, d):
        return tf_custom_op.conv2d_backprop_input(sizes, f, d, **kwargs)

    with tf_custom_op.algorithm("direct"):
        graph = step.get_concrete_function(filt, dy).graph
    ops = [op for op in graph.get_operations() if op.type == tf_custom_op.OP_NAME]
    assert [op.get_attr("algorithm") for op in ops] == [b"direct"]
    assert tf_custom_op.current_algorithm() == "auto"


def test_unknown_algorithm_name_is_a_value_error():
    with pytest.raises(ValueError, match="not one of auto, direct, winograd"):
        with tf_custom_op.algorithm("fft"):
            pass


_CHILD = """
    import hashlib, numpy as np, tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads({threads})
    import tf_custom_op
    rng = np.random.default_rng(0)
    f = rng.standard_normal([3, 3, 48, 64]).astype(np.float32)
    d = rng.standard_normal([2, 30, 30, 64]).astype(np.float32)
    dx = tf_custom_op.conv2d_backprop_input([2, 30, 30, 48], f, d, [1, 1, 1, 1], "SAME")
    print(hashlib.sha256(dx.numpy().tobytes()).hexdigest())
"""


def _child_digest(threads, **env):
    proc = run_python(_CHILD.format(threads=threads), env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip().splitlines()[-1]


def test_environment_variable_and_determinism_across_threads():
    winograd_1 = _child_digest(1, TF_CUSTOM_OP_ALGORITHM="winograd")
    winograd_2 = _child_digest(2, TF_CUSTOM_OP_ALGORITHM="winograd")
    direct = _child_digest(2, TF_CUSTOM_OP_ALGORITHM="direct")
    auto = _child_digest(2, TF_CUSTOM_OP_ALGORITHM=None)
    assert winograd_1 == winograd_2, "Winograd results depend on the thread count"
    assert direct != winograd_2
    assert auto == winograd_2, "auto must choose Winograd on this 3x3 layer"


def test_unknown_environment_value_is_refused_at_load():
    proc = run_python("""
        import tf_custom_op
        try:
            tf_custom_op.op_module()
        except tf_custom_op.OpLibraryError as err:
            print("refused:", err)
    """, env={"TF_CUSTOM_OP_ALGORITHM": "fastest"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "refused: tf_custom_op: TF_CUSTOM_OP_ALGORITHM=fastest names no algorithm" in proc.stdout
