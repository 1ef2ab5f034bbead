"""Inf and NaN through TensorFlow, in every floating dtype and both layouts.

A tap that falls outside dy is not part of the sum (TensorFlow's reference
kernel never visits it), so an Inf or NaN weight may reach only the dx
elements whose taps read it from inside dy; anywhere else 0 * Inf = NaN is a
bug. The engine's bfloat16 kernels also pair the last k of an odd K_g with a
zero, which must meet a zero weight. Each case plants one non-finite value at
a place where such a wrong zero would meet it (the first element, the last
one, the first k of the last channel: the partner of the previous channel's
last k), for K_g odd and even, with groups and a stride, and compares the
positions of NaN, +Inf and -Inf and the finite values with the float64 NumPy
reference; the float32 NHWC cases also with TF's reference kernel.

The TF-free testers check the same per micro-kernel and tier
(tests/cpu_engine/kernel_test.cc) and for the CUDA kernels
(tests/gpu_emulation/emulation_test.cc).
"""
import zlib

import numpy as np
import pytest
import tensorflow as tf

import tf_custom_op
from tf_custom_op import dtypes
from support.reference import conv2d_backprop_input_ref
from support.tf_oracle import EIGEN

DTYPES = {name: tf.as_dtype(name) for name in dtypes.FLOATING}
# Finite values: a few ulps of the dtype per unit of sum |terms| (fp32
# accumulation for the 16-bit types, rounded once to the dtype).
RTOL = {"float16": 2e-3, "bfloat16": 1.6e-2, "float32": 1e-5, "float64": 1e-12}

# (name, input NHWC, C_g, K, filter, stride, padding): K_g odd and even.
SHAPES = {
    "kg3_odd": ([1, 5, 20, 2], 2, 3, (3, 3), 1, "SAME"),
    "kg4_even_s2": ([2, 6, 9, 3], 3, 4, (4, 4), 2, "SAME"),
    "kg3_groups2": ([1, 4, 18, 4], 2, 6, (3, 3), 1, "SAME"),
    "kg5_s2_valid": ([1, 9, 16, 3], 3, 5, (3, 3), 2, "VALID"),
}
# (name, in the filter (else dy), place, value)
POISONS = [
    ("filter_inf_first", True, "first", np.inf),
    ("filter_nan_last", True, "last", np.nan),
    ("filter_neginf_lastc_firstk", True, "last_channel_first_k", -np.inf),
    ("dy_inf_first", False, "first", np.inf),
    ("dy_nan_last", False, "last", np.nan),
    ("dy_neginf_lastc_firstk", False, "last_channel_first_k", -np.inf),
]


def _poison_index(shape, place, groups):
    """Index into an HWIO filter or NHWC dy of `shape`: the first element,
    the last, or the middle tap / pixel's last channel (filter) or pixel
    (dy) at the first k of the last group."""
    if place == "first":
        return (0,) * len(shape)
    if place == "last":
        return tuple(d - 1 for d in shape)
    lead = np.unravel_index((shape[0] * shape[1]) // 2, shape[:2])
    third = shape[2] - 1 if len(shape) == 4 else 0
    return (int(lead[0]), int(lead[1]), third, (groups - 1) * (shape[3] // groups))


def _inputs(shape_name, poison, dtype):
    sizes, cg, k, (r, s), stride, padding = SHAPES[shape_name]
    groups = sizes[3] // cg
    out = [sizes[0]] + [
        (n + st - 1) // st if padding == "SAME" else (n - f + st) // st
        for n, f, st in ((sizes[1], r, stride), (sizes[2], s, stride))] + [k]
    rng = np.random.default_rng(zlib.crc32(f"{shape_name} {poison[0]}".encode()))
    # Away from zero, so that no product is 0 * Inf by chance.
    w = rng.uniform(0.25, 1.0, (r, s, cg, k)) * rng.choice([-1, 1], (r, s, cg, k))
    dy = rng.uniform(0.25, 1.0, out) * rng.choice([-1, 1], out)
    name, in_filter, place, value = poison
    target = w if in_filter else dy
    target[_poison_index(target.shape, place, groups)] = value
    # Round to the dtype so the reference sees exactly the op's inputs.
    w = tf.cast(tf.constant(w), DTYPES[dtype])
    dy = tf.cast(tf.constant(dy), DTYPES[dtype])
    return sizes, w, dy, [1, stride, stride, 1], padding


def _assert_same(got, want, magnitude, rtol, what):
    for name, test in (("NaN", np.isnan), ("+Inf", np.isposinf), ("-Inf", np.isneginf)):
        assert np.array_equal(test(got), test(want)), (
            f"{what}: {name} at {np.argwhere(test(got) != test(want))[:5].tolist()} "
            f"(ours {int(test(got).sum())}, reference {int(test(want).sum())})")
    finite = np.isfinite(want)
    err = np.abs(got[finite] - want[finite])
    assert np.all(err <= rtol * magnitude[finite] + 1e-30), f"{what}: max error {err.max()}"


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("shape_name", sorted(SHAPES))
@pytest.mark.parametrize("poison", POISONS, ids=[p[0] for p in POISONS])
def test_non_finite_matches_reference(poison, shape_name, dtype, data_format):
    sizes, w, dy, strides, padding = _inputs(shape_name, poison, dtype)
    w64 = tf.cast(w, tf.float64).numpy()
    dy64 = tf.cast(dy, tf.float64).numpy()
    want = conv2d_backprop_input_ref(sizes, w64, dy64, strides, padding)
    finite_w, finite_dy = np.nan_to_num(np.abs(w64)), np.nan_to_num(np.abs(dy64))
    magnitude = conv2d_backprop_input_ref(sizes, finite_w, finite_dy, strides, padding)
    if data_format == "NCHW":
        n, h, x, c = sizes
        got = tf_custom_op.conv2d_backprop_input(
            [n, c, h, x], w, tf.transpose(dy, [0, 3, 1, 2]), [1, 1] + strides[1:3], padding,
            data_format="NCHW")
        got = tf.transpose(got, [0, 2, 3, 1])
    else:
        got = tf_custom_op.conv2d_backprop_input(sizes, w, dy, strides, padding)
    got = tf.cast(got, tf.float64).numpy()
    _assert_same(got, want, magnitude, RTOL[dtype], f"{poison[0]} {shape_name} {dtype}")
    assert not np.isfinite(want).all(), "the planted value reached no dx element"


# TF's CPU kernel refuses groups.
@pytest.mark.parametrize("shape_name", sorted(n for n in SHAPES if "groups" not in n))
@pytest.mark.parametrize("poison", POISONS, ids=[p[0] for p in POISONS])
def test_reference_agrees_with_tf(poison, shape_name):
    """The NumPy reference's non-finite semantics are TF's reference kernel's."""
    sizes, w, dy, strides, padding = _inputs(shape_name, poison, "float32")
    theirs = EIGEN.call("v1", sizes, w.numpy(), dy.numpy(), strides, padding)
    want = conv2d_backprop_input_ref(sizes, w.numpy().astype(np.float64),
                                     dy.numpy().astype(np.float64), strides, padding)
    magnitude = conv2d_backprop_input_ref(
        sizes, np.nan_to_num(np.abs(w.numpy().astype(np.float64))),
        np.nan_to_num(np.abs(dy.numpy().astype(np.float64))), strides, padding)
    _assert_same(theirs.astype(np.float64), want, magnitude, 1e-5, f"TF {poison[0]} {shape_name}")
