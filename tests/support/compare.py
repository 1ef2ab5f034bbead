"""Comparisons of the op with its oracles: the float64 NumPy reference
(support/reference.py) and TF's built-in op (support/tf_oracle.py), with
tolerances that follow from float accumulation in any order."""
import numpy as np
import tensorflow as tf

import tf_custom_op
from tf_custom_op import dtypes
from support.cases import DTYPES, make_inputs
from support.reference import conv2d_backprop_input_ref
from support.tf_oracle import EIGEN

# Relative tolerances, applied to sum(|dy| * |w|) (the magnitude of the
# accumulated terms): covers float accumulation in any order. half and
# bfloat16 are additionally allowed one unit in the last place of the result
# (rounding once from a float accumulator).
ACC_RTOL = {"float16": 4e-6, "bfloat16": 4e-6, "float32": 4e-6,
            "float64": 1e-13, "int32": 0.0}
ULP_REL = {"float16": 2.0 ** -10, "bfloat16": 2.0 ** -7}
TINY = {"float16": 2.0 ** -24, "bfloat16": 1e-30, "float32": 1e-30,
        "float64": 1e-300, "int32": 0.0}


def as_f64(x):
    if isinstance(x, tf.Tensor):
        if x.dtype == tf.bfloat16:
            x = tf.cast(x, tf.float32)
        x = x.numpy()
    x = np.asarray(x)
    if x.dtype.kind in "iu":
        return x.astype(np.int64)
    return x.astype(np.float64)


def run_ours(case, w, dy):
    return tf_custom_op.conv2d_backprop_input(
        case.input_sizes(), tf.constant(w), tf.constant(dy),
        strides=case.strides(), padding=case.padding_arg(),
        data_format=case.data_format, dilations=case.dilations())


def run_tf(case, w, dy):
    """TF's built-in result as computed by its reference (Eigen) kernel, the
    same on every CPU (support/tf_oracle.py), or None where that kernel
    refuses the configuration (NCHW, dilation, groups)."""
    try:
        return EIGEN.call(
            "v1", case.input_sizes(), w, dy,
            strides=case.strides(), padding=case.padding_arg(),
            data_format=case.data_format, dilations=case.dilations())
    except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError) as err:
        # TF's CPU kernels cover at least NHWC without dilation or groups:
        # a refusal there would mean a broken oracle.
        assert (case.data_format == "NCHW" or case.dilation != (1, 1)
                or case.groups > 1), f"TF refused {case}: {err}"
        return None


def reference(case, w, dy):
    return conv2d_backprop_input_ref(
        case.input_sizes(), as_f64(w), as_f64(dy), case.strides(),
        case.padding_arg(), case.data_format, case.dilations())


def reference_abs(case, w, dy):
    return conv2d_backprop_input_ref(
        case.input_sizes(), np.abs(as_f64(w)), np.abs(as_f64(dy)),
        case.strides(), case.padding_arg(), case.data_format, case.dilations())


def assert_close(case, got, want, magnitude, what, ulps=1.0, acc_rtol=None):
    """|got - want| <= ulps * ulp(want) + acc_rtol * magnitude (elementwise)."""
    got = as_f64(got)
    want = np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape} ({case})"
    if case.dtype == "int32":
        # Exact, with int32 wrap-around.
        want32 = (want.astype(np.int64) & 0xFFFFFFFF).astype(np.uint32).view(np.int32)
        bad = got != want32
        assert not bad.any(), (
            f"{what}: {bad.sum()} of {bad.size} int32 elements differ ({case}); "
            f"first at {np.argwhere(bad)[0]}: got {got[bad][0]} want {want32[bad][0]}")
        return
    if acc_rtol is None:
        acc_rtol = ACC_RTOL[case.dtype]
    tol = acc_rtol * magnitude + TINY[case.dtype]
    if case.dtype in ULP_REL:
        tol = tol + ulps * ULP_REL[case.dtype] * np.abs(want)
    err = np.abs(got - want)
    bad = ~(err <= tol)
    assert not bad.any(), (
        f"{what}: {bad.sum()} of {bad.size} elements out of tolerance ({case}); "
        f"max err {err.max():.3g}; first at {np.argwhere(bad)[0]}: "
        f"got {got[bad][0]!r} want {want[bad][0]!r} tol {np.broadcast_to(tol, err.shape)[bad][0]:.3g}")


def check_case(case, compare_tf=True):
    """Runs our op on `case` and checks it against the NumPy reference and
    (where TF's CPU kernel accepts the configuration) TF's built-in op.

    Returns "tf" when TF's op was compared, "ref" otherwise.
    """
    w, dy = make_inputs(case)
    ours = run_ours(case, w, dy)
    assert ours.dtype == DTYPES[case.dtype], f"dtype {ours.dtype} ({case})"
    assert ours.shape.as_list() == list(case.dx_shape()), (
        f"shape {ours.shape} ({case})")
    ref = reference(case, w, dy)
    mag = reference_abs(case, w, dy)
    assert_close(case, ours, ref, mag, "vs NumPy reference")
    if not compare_tf:
        return "ref"
    theirs = run_tf(case, w, dy)
    if theirs is None:
        return "ref"
    assert theirs.shape == ours.shape
    if case.dtype in dtypes.HALF_WIDTH:
        # TF's Eigen half/bfloat16 path accumulates in the narrow type (ours
        # accumulates in float and was checked tightly above): compare loosely.
        assert_close(case, ours, as_f64(theirs), mag, "vs TF built-in", ulps=2.0,
                     acc_rtol=8 * ULP_REL[case.dtype])
    else:
        assert_close(case, ours, as_f64(theirs), mag, "vs TF built-in")
    return "tf"
