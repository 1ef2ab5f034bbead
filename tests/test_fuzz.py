"""Differential fuzzing against TensorFlow's built-in op, with hypothesis.

Valid random configurations (shapes, strides, paddings, dilations, groups,
data formats, dtypes, the 2-value form of input_sizes) must give the built-in
op's result; where the built-in refuses a configuration on CPU (NCHW,
dilation, groups) the example is skipped with `assume`, after checking ours
against the float64 NumPy reference instead. Invalid configurations (one
valid configuration with one thing broken) must raise a clear error from ours;
the built-in never sees them (many crash it: see test_hostile_inputs.py).

Bounded and seeded by default (derandomized, a few dozen examples, well under
two minutes). Longer, randomized runs on demand:

    TF_CUSTOM_OP_FUZZ_EXAMPLES=2000 .venv/bin/python -m pytest tests/test_fuzz.py
"""
import dataclasses
import os
import sys

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

import tf_custom_op
from support.cases import Case
from tf_custom_op import dtypes
from tf_custom_op.geometry import explicit_paddings_of, padding_pairs

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _hostile_runner import reference_conv  # noqa: E402

_ON_DEMAND = int(os.environ.get("TF_CUSTOM_OP_FUZZ_EXAMPLES", "0") or 0)
FUZZ_SETTINGS = settings(
    max_examples=_ON_DEMAND or 60,
    derandomize=not _ON_DEMAND,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.data_too_large],
)

DTYPES = {"float32": tf.float32, "float64": tf.float64, "float16": tf.float16,
          "bfloat16": tf.bfloat16, "int32": tf.int32}
# What TF's CPU kernels refuse (not a disagreement: skipped after the reference check).
REFUSALS = ("only supports NHWC", "do not yet support dilation",
            "grouped convolutions are not supported", "No registered", "not supported")
CLEAR_ERRORS = (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError, ValueError)


@st.composite
def configs(draw):
    """A valid configuration: a Case (support/cases.py) drawn at random."""
    dtype = draw(st.sampled_from(["float32"] * 4 + ["float64", "float16", "bfloat16", "int32"]))
    data_format = draw(st.sampled_from(["NHWC"] * 7 + ["NCHW"]))
    mode = draw(st.sampled_from(["VALID", "SAME", "EXPLICIT"]))
    two_value_sizes = draw(st.sampled_from([False] * 4 + [True]))
    # The 2-value form of input_sizes takes the depth from the filter: no groups.
    groups = 1 if two_value_sizes else draw(st.sampled_from([1] * 9 + [2, 3]))
    cg = draw(st.integers(1, 5))
    kg = draw(st.integers(1, 4))
    batch = draw(st.integers(1, 3))
    filt = [draw(st.integers(1, 4)), draw(st.integers(1, 4))]
    strides = [draw(st.sampled_from([1, 1, 2, 2, 3, 5])) for _ in range(2)]
    dilations = [draw(st.sampled_from([1] * 14 + [2, 3])) for _ in range(2)]
    size = [draw(st.integers(1, 11)), draw(st.integers(1, 11))]
    pads = tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(2))
    case = dataclasses.replace(
        Case.forward([batch] + size + [groups * cg], filt + [cg, groups * kg], strides,
                     pads if mode == "EXPLICIT" else mode, dtype=dtype,
                     data_format=data_format, dilations=dilations,
                     seed=draw(st.integers(0, 2**32 - 1))),
        two_value_sizes=two_value_sizes)
    # Empty results are covered (in child processes) by test_hostile_inputs.py.
    assume(min(case.out_hw()) >= 1)
    return case


def materialize(case):
    """(input_sizes, filter, out_backprop, kwargs, flat explicit paddings) for
    the op, numpy inputs."""
    rng = np.random.default_rng(case.seed)
    np_dtype = DTYPES[case.dtype].as_numpy_dtype
    # Small integers: exact in every dtype's products, so that float32,
    # float64 and int32 results must match bit for bit.
    w = rng.integers(-3, 4, size=case.filter_shape()).astype(np_dtype)
    dy = rng.integers(-3, 4, size=case.dy_shape()).astype(np_dtype)
    explicit = (explicit_paddings_of(case.padding, case.data_format)
                if case.mode() == "EXPLICIT" else [])
    kwargs = dict(strides=case.strides(), padding=case.padding_arg(),
                  data_format=case.data_format, dilations=case.dilations())
    return np.array(case.input_sizes(), np.int32), w, dy, kwargs, explicit


def tolerance(case, w, dy, kwargs, explicit):
    """Absolute tolerance per element: 0 for exact dtypes; for half and
    bfloat16, a few ulps of the magnitude bound (TF's half path rounds every
    partial sum)."""
    if case.dtype not in dtypes.HALF_WIDTH:
        return 0.0
    eps = 2.0**-10 if case.dtype == "float16" else 2.0**-7
    abs_ref = reference_conv(
        case.dx_shape_four(), np.abs(w.astype(np.float64)), np.abs(dy.astype(np.float64)),
        kwargs["strides"], case.mode(), explicit, kwargs["dilations"], case.data_format)
    terms = case.k_h * case.k_w * (case.out_depth // case.groups)
    return eps * (terms + 2) * abs_ref


def assert_close(actual, expected, atol, what):
    assert actual.shape == expected.shape, f"{what}: {actual.shape} != {expected.shape}"
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    if np.isscalar(atol) and atol == 0:
        np.testing.assert_array_equal(a, e, err_msg=what)
    else:
        excess = np.abs(a - e) - atol
        worst = np.unravel_index(np.argmax(excess), excess.shape)
        assert np.all(excess <= 0), (
            f"{what}: at {worst} got {a[worst]} expected {e[worst]} (tolerance "
            f"{np.broadcast_to(atol, a.shape)[worst]})")


@FUZZ_SETTINGS
@given(cfg=configs())
def test_valid_configs_match_builtin(cfg):
    note(str(cfg))
    sizes, w, dy, kwargs, explicit = materialize(cfg)
    ours = tf_custom_op.conv2d_backprop_input(sizes, w, dy, **kwargs).numpy()
    atol = tolerance(cfg, w, dy, kwargs, explicit)
    ref = reference_conv(cfg.dx_shape_four(), w, dy, kwargs["strides"], cfg.mode(), explicit,
                         kwargs["dilations"], cfg.data_format)
    assert_close(ours, ref, atol, "ours vs float64 reference")
    try:
        builtin = tf.compat.v1.nn.conv2d_backprop_input(sizes, w, dy, **kwargs).numpy()
    except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError,
            tf.errors.NotFoundError) as err:
        refused = any(text in str(err) for text in REFUSALS)
        assert refused, f"the built-in rejects a valid configuration: {err}"
        assume(False)
    assert_close(ours, builtin, 2 * atol if not np.isscalar(atol) else 0, "ours vs built-in")


MUTATIONS = [
    "rows", "cols", "batch", "out_depth", "in_depth", "groups_out", "stride_zero",
    "stride_negative", "stride_batch", "dilation_zero", "dilation_depth", "pad_negative",
    "pad_depth", "sizes_negative", "sizes_length", "filter_rank", "out_backprop_rank",
    "filter_depth_zero",
]


@FUZZ_SETTINGS
@given(cfg=configs(), mutation=st.sampled_from(MUTATIONS), delta=st.sampled_from([-1, 1, 2]),
       eager=st.booleans())
def test_invalid_configs_raise(cfg, mutation, delta, eager):
    note(f"{mutation} {delta} {cfg}")
    sizes, w, dy, kwargs, explicit = materialize(cfg)
    nchw = cfg.nchw()
    axis = {"N": 0, "H": 2 if nchw else 1, "W": 3 if nchw else 2, "C": 1 if nchw else 3}
    strides, dilations = list(kwargs["strides"]), list(kwargs["dilations"])
    if mutation in ("rows", "cols"):
        dim = axis["H" if mutation == "rows" else "W"]
        assume(dy.shape[dim] + delta >= 0)
        shape = list(dy.shape)
        shape[dim] += delta
        dy = np.zeros(shape, dy.dtype)
    elif mutation == "batch":
        assume(not cfg.two_value_sizes and dy.shape[0] + delta >= 0)
        sizes = sizes.copy()
        sizes[0] = dy.shape[0] + delta
    elif mutation == "out_depth":
        assume(w.shape[3] + delta >= 0)
        w = np.zeros(list(w.shape[:3]) + [w.shape[3] + delta], w.dtype)
    elif mutation == "in_depth":
        assume(cfg.filter_depth > 1 and not cfg.two_value_sizes)
        sizes = sizes.copy()
        sizes[axis["C"]] += 1
    elif mutation == "groups_out":
        assume(cfg.groups > 1)
        k = w.shape[3] + 1
        w = np.zeros(list(w.shape[:3]) + [k], w.dtype)
        shape = list(dy.shape)
        shape[axis["C"]] = k
        dy = np.zeros(shape, dy.dtype)
    elif mutation in ("stride_zero", "stride_negative"):
        strides[axis["H"] if delta > 0 else axis["W"]] = 0 if mutation == "stride_zero" else -1
    elif mutation == "stride_batch":
        strides[axis["N"] if delta > 0 else axis["C"]] = 2
    elif mutation == "dilation_zero":
        dilations[axis["H"] if delta > 0 else axis["W"]] = 0
    elif mutation == "dilation_depth":
        dilations[axis["C"]] = 2
    elif mutation in ("pad_negative", "pad_depth"):
        assume(explicit)
        explicit = list(explicit)
        explicit[2 * axis["H"] if mutation == "pad_negative" else 2 * axis["C"]] = (
            -1 if mutation == "pad_negative" else 1)
        kwargs["padding"] = padding_pairs(explicit)
    elif mutation == "sizes_negative":
        sizes = sizes.copy()
        sizes[-1 if delta > 0 else 0] = -1 - abs(delta)
    elif mutation == "sizes_length":
        sizes = np.concatenate([sizes, [1]]) if delta > 0 else sizes[:1]
    elif mutation == "filter_rank":
        w = w.reshape(w.shape[:2] + (-1,)) if delta > 0 else w.reshape(w.shape + (1,))
    elif mutation == "out_backprop_rank":
        dy = dy.reshape(dy.shape + (1,)) if delta > 0 else dy.reshape(dy.shape[:2] + (-1,))
    elif mutation == "filter_depth_zero":
        w = np.zeros(list(w.shape[:2]) + [0, w.shape[3]], w.dtype)
    kwargs.update(strides=strides, dilations=dilations)

    def call():
        return tf_custom_op.conv2d_backprop_input(sizes, w, dy, **kwargs)

    with pytest.raises(CLEAR_ERRORS):
        if eager:
            call().numpy()
        else:
            tf.function(call)().numpy()
