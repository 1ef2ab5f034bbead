"""Hand-written cases in the spirit of TF's own conv_ops_test
(testConv2D*BackpropInput, conv2d_transpose tests): small known shapes with
inputs 1..n, all-ones transposed convolutions with analytically known counts,
the docs/CONTRACT.md section 7 advisories, and every accepted form of input_sizes."""
import numpy as np
import pytest
import tensorflow as tf

import tf_custom_op
from tf_custom_op import dtypes
from support.error_cases import DANGEROUS, check_dangerous_outcome
from support.cases import MEDIUM_CASES, Case
from support.compare import check_case
from support.processes import run_cases_in_subprocess
from support.reference import conv2d_backprop_input_ref, spatial_pads

OURS = tf_custom_op.conv2d_backprop_input
TF = tf.compat.v1.nn.conv2d_backprop_input


def _iota(shape, dtype=np.float32):
    """1, 2, 3, ... in the given shape (TF's tests use such inputs)."""
    return np.arange(1, int(np.prod(shape)) + 1, dtype=dtype).reshape(shape)


# Forward convolutions (x NHWC, filter, strides (h, w), padding). Output sizes
# follow from docs/CONTRACT.md section 2.
KNOWN = {
    "2x2_depth1_valid": Case.forward([1, 2, 3, 1], [2, 2, 1, 1], (1, 1), "VALID"),
    "2x2_depth3_valid": Case.forward([1, 2, 3, 3], [2, 2, 3, 3], (1, 1), "VALID"),
    "2x2_depth3_valid_stride1x2": Case.forward([1, 3, 6, 1], [2, 2, 1, 1], (1, 2), "VALID"),
    "2x2_stride2x1_valid": Case.forward([1, 5, 3, 2], [2, 2, 2, 3], (2, 1), "VALID"),
    "stride2_filter1_same": Case.forward([1, 4, 4, 1], [1, 1, 1, 1], (2, 2), "SAME"),
    "kernel_equals_input_valid": Case.forward([1, 2, 2, 1], [2, 2, 1, 2], (1, 1), "VALID"),
    "empty_batch": Case.forward([0, 2, 3, 1], [2, 2, 1, 1], (1, 1), "VALID"),
    "3x3_same_depth2": Case.forward([2, 5, 5, 2], [3, 3, 2, 4], (1, 1), "SAME"),
    "3x3_same_stride2_odd": Case.forward([1, 7, 7, 3], [3, 3, 3, 2], (2, 2), "SAME"),
    "4x4_same_stride2_even": Case.forward([1, 8, 6, 1], [4, 4, 1, 1], (2, 2), "SAME"),
    "stride_larger_than_kernel": Case.forward([1, 7, 8, 2], [2, 2, 2, 2], (3, 3), "VALID"),
    "stride_larger_than_kernel_same": Case.forward([1, 7, 8, 2], [1, 2, 2, 2], (3, 4), "SAME"),
    "1x1_stride1": Case.forward([3, 4, 5, 6], [1, 1, 6, 7], (1, 1), "VALID"),
    "explicit_symmetric": Case.forward([1, 4, 4, 2], [3, 3, 2, 2], (1, 1), ((1, 1), (1, 1))),
    "explicit_asymmetric": Case.forward([2, 5, 4, 1], [3, 2, 1, 3], (2, 1), ((2, 1), (0, 3))),
    "explicit_large_padding": Case.forward([1, 3, 3, 1], [2, 2, 1, 1], (1, 1), ((4, 3), (2, 5))),
    "explicit_padding_stride3": Case.forward([1, 9, 7, 2], [3, 3, 2, 3], (3, 2), ((1, 2), (2, 0))),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.float16])
@pytest.mark.parametrize("name", sorted(KNOWN))
def test_known_case_iota_inputs(name, dtype):
    case = KNOWN[name]
    sizes, padding, strides = case.input_sizes(), case.padding_arg(), case.strides()
    filt = _iota(case.filter_shape(), dtype)
    dy = _iota(case.dy_shape(), dtype)
    if dtype == np.float16:  # keep the values and the sums exact in half
        filt = (filt % 7).astype(dtype)
        dy = (dy % 5).astype(dtype)
    ours = OURS(sizes, filt, dy, strides, padding)
    theirs = TF(sizes, filt, dy, strides, padding)
    ref = conv2d_backprop_input_ref(sizes, filt, dy, strides, padding)
    assert ours.dtype == theirs.dtype
    assert ours.shape == theirs.shape == tuple(sizes)
    # Integer-valued inputs: every result is an exactly representable integer.
    np.testing.assert_array_equal(ours.numpy().astype(np.float64), ref)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def _all_ones_expected(in_h, in_w, k_h, k_w, stride, padding, out_depth, out_hw):
    """conv2d_transpose of all-ones inputs: each output pixel counts the
    (tap, dy pixel) pairs that reach it, times the out_depth."""
    (pt, _), (pl, _) = (spatial_pads(in_h, k_h, stride, 1, padding),
                        spatial_pads(in_w, k_w, stride, 1, padding))
    counts = np.zeros((in_h, in_w))
    for p in range(out_hw[0]):
        for q in range(out_hw[1]):
            for r in range(k_h):
                for s in range(k_w):
                    y, x = p * stride + r - pt, q * stride + s - pl
                    if 0 <= y < in_h and 0 <= x < in_w:
                        counts[y, x] += 1
    return counts * out_depth


@pytest.mark.parametrize("stride,padding,in_hw,x_hw", [
    (1, "SAME", (6, 4), (6, 4)),
    (2, "SAME", (12, 8), (6, 4)),
    (2, "VALID", (13, 9), (6, 4)),
    (3, "VALID", (8, 11), (2, 3)),
])
def test_conv2d_transpose_all_ones(stride, padding, in_hw, x_hw):
    """The idea of TF's testConv2DTranspose{SingleStride,Same,Valid}: known
    counts for all-ones inputs (filter [3, 3, 2, 3], 3 output channels)."""
    x = tf.ones([2, x_hw[0], x_hw[1], 3])
    filt = tf.ones([3, 3, 2, 3])
    sizes = [2, in_hw[0], in_hw[1], 2]
    strides = [1, stride, stride, 1]
    ours = OURS(sizes, filt, x, strides, padding).numpy()
    expected = _all_ones_expected(in_hw[0], in_hw[1], 3, 3, stride, padding, 3, x_hw)
    for n in range(2):
        for c in range(2):
            np.testing.assert_array_equal(ours[n, :, :, c], expected)
    np.testing.assert_array_equal(
        ours, tf.nn.conv2d_transpose(x, filt, sizes, strides, padding).numpy())


# ---- docs/CONTRACT.md section 7 advisories (our op only, in a subprocess) ----------
ADVISORIES = sorted(n for n in DANGEROUS if n.startswith("advisory_"))


@pytest.fixture(scope="module")
def advisory_results():
    return run_cases_in_subprocess(ADVISORIES)


@pytest.mark.parametrize("name", ADVISORIES)
def test_advisory(name, advisory_results):
    check_dangerous_outcome(name, advisory_results[name])


# ---- input_sizes forms ------------------------------------------------------
SIZES_FORMS = {
    "list": lambda s: list(s),
    "tuple": lambda s: tuple(s),
    "np_int32": lambda s: np.array(s, np.int32),
    "np_int64": lambda s: np.array(s, np.int64),
    "TensorShape": lambda s: tf.TensorShape(s),
    "tensor_int32": lambda s: tf.constant(s, tf.int32),
}


@pytest.mark.parametrize("form", sorted(SIZES_FORMS))
@pytest.mark.parametrize("sizes", [[2, 7, 6, 3], [7, 6]], ids=["4v", "2v"])
def test_input_sizes_forms(form, sizes, rng):
    filt = rng.standard_normal([3, 2, 3, 4]).astype(np.float32)
    dy = rng.standard_normal([2, 4, 3, 4]).astype(np.float32)
    arg = SIZES_FORMS[form](sizes)
    ours = OURS(arg, filt, dy, [1, 2, 2, 1], "SAME")
    theirs = TF(SIZES_FORMS[form](sizes), filt, dy, [1, 2, 2, 1], "SAME")
    assert ours.shape == theirs.shape == (2, 7, 6, 3)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-5)


def test_input_sizes_int64_tensor_rejected_like_tf():
    sizes = tf.constant([1, 4, 4, 2], tf.int64)
    with pytest.raises(tf.errors.InvalidArgumentError) as theirs:
        TF(sizes, tf.ones([3, 3, 2, 3]), tf.ones([1, 4, 4, 3]), [1, 1, 1, 1], "SAME")
    with pytest.raises(type(theirs.value)):
        OURS(sizes, tf.ones([3, 3, 2, 3]), tf.ones([1, 4, 4, 3]), [1, 1, 1, 1], "SAME")


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
@pytest.mark.parametrize("padding", ["SAME", "VALID", ((1, 0), (2, 1))])
def test_two_value_input_sizes(data_format, padding):
    """input_sizes (H, W): batch from out_backprop, depth from the filter."""
    case = Case(dtype="float32", data_format=data_format, batch=3, in_h=9, in_w=7,
                in_depth=4, filter_depth=4, out_depth=5, k_h=3, k_w=2, stride=(2, 3),
                dilation=(1, 1), padding=padding, two_value_sizes=True, seed=5)
    oracle = check_case(case)
    assert oracle == ("tf" if data_format == "NHWC" else "ref")


def test_filters_alias_and_keywords(rng):
    filt = rng.standard_normal([2, 2, 3, 2]).astype(np.float32)
    dy = rng.standard_normal([1, 3, 3, 2]).astype(np.float32)
    a = OURS(input_sizes=[1, 4, 4, 3], filters=filt, out_backprop=dy,
             strides=[1, 1, 1, 1], padding="VALID")
    b = OURS([1, 4, 4, 3], filt, dy, [1, 1, 1, 1], "VALID", True, "NHWC", [1, 1, 1, 1])
    c = OURS([1, 4, 4, 3], filt, dy, [1, 1, 1, 1], "VALID", use_cudnn_on_gpu=False)
    ref = TF([1, 4, 4, 3], filt, dy, [1, 1, 1, 1], "VALID")
    for x in (a, b, c):
        np.testing.assert_allclose(x.numpy(), ref.numpy(), rtol=1e-6, atol=1e-6)


def test_int32_wraps_like_tf():
    """int32 sums that overflow wrap modulo 2**32, as in TF's kernel."""
    filt = np.full([3, 3, 2, 4], 2 ** 20 + 3, np.int32)
    dy = np.full([1, 5, 5, 4], 2 ** 12 - 1, np.int32)
    ours = OURS([1, 5, 5, 2], filt, dy, [1, 1, 1, 1], "SAME").numpy()
    theirs = TF([1, 5, 5, 2], filt, dy, [1, 1, 1, 1], "SAME").numpy()
    ref = conv2d_backprop_input_ref([1, 5, 5, 2], filt, dy, [1, 1, 1, 1], "SAME",
                                    out_dtype=np.int32)
    assert ours.dtype == np.int32
    assert (ref.astype(np.int64) != conv2d_backprop_input_ref(
        [1, 5, 5, 2], filt, dy, [1, 1, 1, 1], "SAME")).any(), "no overflow happened"
    np.testing.assert_array_equal(ours, ref)
    np.testing.assert_array_equal(ours, theirs)


# ---- larger shapes: several register tiles and channel tails ---------------
MEDIUM = MEDIUM_CASES


@pytest.mark.parametrize("case", MEDIUM, ids=str)
def test_medium_shapes(case):
    check_case(case)


# A 1-column image, stride 1, a k x 1 all-ones filter, explicit rows of
# padding: out_backprop taller than the image. These once exposed a
# staging-cache eviction bug in the half/bfloat16 path (a dy row evicted
# while the same dx row still needed it).
_TALL = [Case.forward([1, h, 1, 1], [k, 1, 1, 1], (1, 1), ((pt, pb), (0, 0)))
         for h, k, pt, pb in [(6, 4, 3, 2), (8, 4, 3, 3), (6, 4, 3, 1), (6, 3, 2, 2), (7, 4, 3, 1)]]


@pytest.mark.parametrize("dtype,tall", [
    (dtype, index) for dtype in dtypes.FLOATING for index in range(len(_TALL))])
def test_half_explicit_padding_tall_out_backprop(dtype, tall):
    """Minimal repro of a CPU engine bug: half/bfloat16 with explicit padding
    where out_backprop has more rows than the input (float32/64 are right)."""
    case = _TALL[tall]
    dy = np.arange(1, case.dy_shape()[1] + 1, dtype=np.float32).reshape(case.dy_shape())
    sizes, padding, w_shape = case.input_sizes(), case.padding_arg(), case.filter_shape()
    tf_dtype = tf.as_dtype(dtype)
    ours = OURS(sizes, tf.ones(w_shape, tf_dtype), tf.cast(dy, tf_dtype), case.strides(), padding)
    ref = conv2d_backprop_input_ref(sizes, np.ones(w_shape), dy, case.strides(), padding)
    np.testing.assert_array_equal(tf.cast(ours, tf.float64).numpy(), ref)
