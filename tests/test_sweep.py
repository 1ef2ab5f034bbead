"""Randomised (seeded, deterministic) sweep over the configuration space:
batch 0-3, spatial 1-12, channels 1-9, kernel 1-5, stride 1-3, dilation 1-3,
SAME / VALID / explicit (asymmetric) padding, NHWC and NCHW, groups, the
2-value input_sizes form and all five dtypes.

Every case is checked against the float64 NumPy reference and, where TF's CPU
kernel accepts the configuration, against TF's built-in op too.
"""
import json

import pytest

from support.cases import MEDIUM_CASES, random_cases, random_wide_cases
from support.compare import check_case
from support.processes import run_python
from tf_custom_op import _loader, dtypes

SWEEP = random_cases(480, seed=20240521)


@pytest.mark.parametrize("case", SWEEP, ids=str)
def test_sweep(case):
    check_case(case)


# Phase rows of 34-48 pixels (rows of up to 144): longer than 2 MR + 1 for
# every kernel, half of them dilated and strided.
WIDE = random_wide_cases(40, seed=20261206)


@pytest.mark.parametrize("case", WIDE, ids=str)
def test_wide_rows(case):
    check_case(case)


def test_wide_rows_reach_past_two_tiles():
    widest_mr = 16  # the AMX kernel's; the AVX-512 ones have 12
    phase_rows = [c.in_w // c.stride[1] for c in WIDE]
    assert min(phase_rows) > 2 * widest_mr + 1
    assert sum(1 for c in WIDE if c.dilation != (1, 1) and c.stride != (1, 1)) >= 10


def test_sweep_covers_the_space():
    """The generated list really spans what the sweep claims to cover."""
    def seen(attr):
        return {attr(c) for c in SWEEP}

    assert seen(lambda c: c.batch) == {0, 1, 2, 3}
    assert seen(lambda c: c.dtype) == set(dtypes.NAMES)
    assert seen(lambda c: c.data_format) == {"NHWC", "NCHW"}
    assert seen(lambda c: c.mode()) == {"SAME", "VALID", "EXPLICIT"}
    assert seen(lambda c: c.k_h) == {1, 2, 3, 4, 5}
    assert seen(lambda c: c.stride[0]) == {1, 2, 3}
    assert seen(lambda c: c.dilation[1]) == {1, 2, 3}
    assert seen(lambda c: c.groups) >= {1, 2, 3}
    assert seen(lambda c: c.in_h) == set(range(1, 13))
    assert seen(lambda c: c.out_depth) == set(range(1, 10))
    assert seen(lambda c: c.in_depth) == set(range(1, 10))
    assert any(c.two_value_sizes for c in SWEEP)
    assert any(0 in c.out_hw() for c in SWEEP), "no empty out_backprop case"
    assert any(not isinstance(c.padding, str) and
               (c.padding[0][0] != c.padding[0][1] or c.padding[1][0] != c.padding[1][1])
               for c in SWEEP), "no asymmetric explicit padding"
    # Each combination of (format, dilated, grouped) appears at least once.
    combos = {(c.data_format, c.dilation != (1, 1), c.groups > 1) for c in SWEEP}
    assert len(combos) == 8, combos


# The micro-kernel choice is cached per process: every tier this CPU has
# below the one the sweep above runs at gets its own interpreter, capped with
# TF_CUSTOM_OP_ISA (portable everywhere; avx2, avx512 and avx512_bf16 on the
# CPUs that have a higher tier). Every float32 / float64 case of a subset (the
# ones that reach a micro-kernel), plus a few of the others.
_REPORT = _loader.cpu_kernel_report()
LOWER_TIERS = _REPORT["tiers"][:_REPORT["tiers"].index(_REPORT["tier"])]
SUBSET = [c for c in random_cases(160, seed=777)
          if c.dtype in ("float32", "float64")][:70] + \
    [c for c in random_cases(40, seed=778) if c.dtype not in ("float32", "float64")][:15] + \
    MEDIUM_CASES


@pytest.mark.parametrize("tier", LOWER_TIERS)
def test_lower_tier_micro_kernels(tier):
    code = f"""
        import json, os, sys
        from tf_custom_op import _loader
        from support.cases import MEDIUM_CASES, random_cases, random_wide_cases
        from support.compare import check_case
        assert _loader.cpu_kernel_report()["tier"] == "{tier}"
        cases = random_cases(160, seed=777)
        cases = [c for c in cases if c.dtype in ("float32", "float64")][:70] + \\
            [c for c in random_cases(40, seed=778)
             if c.dtype not in ("float32", "float64")][:15] + MEDIUM_CASES
        assert len(cases) == {len(SUBSET)}
        failures = []
        oracles = []
        for c in cases:
            try:
                oracles.append(check_case(c))
            except AssertionError as e:
                failures.append(str(e))
        print(json.dumps({{"failures": failures, "oracles": oracles}}))
    """
    proc = run_python(code, env={"TF_CUSTOM_OP_ISA": tier})
    assert proc.returncode == 0, f"rc={proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not result["failures"], "\n".join(result["failures"][:10])
    assert len(result["oracles"]) == len(SUBSET)
    assert "tf" in result["oracles"]


def test_unknown_tier_name_is_an_error():
    """A misspelt TF_CUSTOM_OP_ISA must not silently run the top tier: the
    loader raises at load naming the valid tiers, and a graph that calls the
    raw op (no loader check) fails with InvalidArgumentError."""
    proc = run_python("""
        import json
        import numpy as np
        import tensorflow as tf
        import tf_custom_op
        from tf_custom_op import _loader
        out = {}
        try:
            tf_custom_op.conv2d_backprop_input(
                [1, 4, 4, 2], np.ones((3, 3, 2, 2), np.float32),
                np.ones((1, 4, 4, 2), np.float32), [1, 1, 1, 1], "SAME")
            out["loader"] = "ran"
        except _loader.OpLibraryError as err:
            out["loader"] = str(err)
        raw = tf.load_op_library(_loader.library_path())
        try:
            raw.tf_custom_op_conv2d_backprop_input(
                input_sizes=[1, 4, 4, 2], filter=np.ones((3, 3, 2, 2), np.float32),
                out_backprop=np.ones((1, 4, 4, 2), np.float32), strides=[1, 1, 1, 1],
                padding="SAME")
            out["raw"] = "ran"
        except tf.errors.InvalidArgumentError as err:
            out["raw"] = err.message
        print(json.dumps(out))
    """, env={"TF_CUSTOM_OP_ISA": "avx512bf16"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for where in ("loader", "raw"):
        assert "TF_CUSTOM_OP_ISA=avx512bf16" in out[where], out
        assert ", ".join(_REPORT["tiers"]) in out[where], out


def test_sweep_uses_both_oracles():
    """Enough cases lie in TF's CPU coverage (NHWC, no dilation, no groups:
    check_case fails if TF refuses one of those) and enough outside it."""
    in_tf = [c for c in SWEEP
             if c.data_format == "NHWC" and c.dilation == (1, 1) and c.groups == 1]
    assert len(in_tf) >= 60, len(in_tf)
    assert len(SWEEP) - len(in_tf) >= 60


# Where AVX512_BF16 is slower than the float kernel (kernel_calibration.h),
# bfloat16 takes the float path; the kernel that reads bfloat16 itself is
# then forced (TF_CUSTOM_OP_BF16_PATH=native) for the bfloat16 cases.
def test_native_bfloat16_kernel_when_calibration_skips_it():
    forced = run_python("""
        import json
        from tf_custom_op import _loader
        print(json.dumps(_loader.cpu_kernel_report()["kernels"]["bfloat16"]))
    """, env={"TF_CUSTOM_OP_BF16_PATH": "native"})
    entry = json.loads(forced.stdout.strip().splitlines()[-1])
    if entry["reads"] != "bfloat16":
        pytest.skip("no kernel here reads bfloat16 itself (this CPU lacks AVX512_BF16)")
    if _REPORT["kernels"]["bfloat16"]["reads"] == "bfloat16":
        pytest.skip("the sweep above already ran the bfloat16 kernel")
    code = """
        import json
        from support.cases import random_cases
        from support.compare import check_case
        cases = [c for c in random_cases(400, seed=779) if c.dtype == "bfloat16"][:40]
        failures = []
        for c in cases:
            try:
                check_case(c)
            except AssertionError as e:
                failures.append(str(e))
        print(json.dumps({"failures": failures, "count": len(cases)}))
    """
    proc = run_python(code, env={"TF_CUSTOM_OP_BF16_PATH": "native"})
    assert proc.returncode == 0, f"rc={proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["count"] >= 30 and not result["failures"], "\n".join(result["failures"][:10])
