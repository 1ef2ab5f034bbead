"""The AVX-512 and AMX tiers through TensorFlow, on any x86-64 CPU.

The op library is built once more with the AVX-512F, AVX512_BF16 and AMX-BF16
kernels compiled as plain C++ against cc/kernels/cpu/x86_emulation.h
(build_tools/op_build.py --x86-emulation, into build/x86_emulation/), and
child processes load that library (TF_CUSTOM_OP_LIBRARY) and run cases of
every floating dtype through the op: once at the top tier (AMX for bfloat16)
and once capped at avx512_bf16 (VDPBF16PS). The kernel report must name the
emulated kernels, so these cases run the 12x32 float, 12x16 double and both
bfloat16 kernels, the bfloat16 path that reads dy and the filter as bfloat16
pairs in place (NHWC) or staged (NCHW), and the scalar tile taken when the
filter is not finite. On a machine with those instructions the package's own
library runs the same kernels natively in every other test.
"""
import json
import os
import platform
import subprocess
import sys

import pytest

from support.processes import ROOT, run_python

sys.path.insert(0, ROOT)
from build_tools import op_build  # noqa: E402

pytestmark = pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"),
                                reason="the x86 emulation build is for x86-64 hosts")

CASES_CODE = """
    import json
    import numpy as np
    from tf_custom_op import _loader
    from support.cases import MEDIUM_CASES, Case, random_cases
    from support.compare import check_case

    bf16 = [
        # K_g odd (the unpaired last k), groups, channel tails past 32
        Case("bfloat16", "NHWC", 2, 9, 11, 37, 37, 33, 3, 3, (1, 1), (1, 1), "SAME", seed=21),
        Case("bfloat16", "NHWC", 1, 8, 8, 18, 6, 15, 3, 3, (1, 1), (1, 1), "SAME", seed=22),
        Case("bfloat16", "NCHW", 2, 10, 9, 20, 20, 7, 4, 4, (2, 2), (1, 1), "SAME", seed=23),
        Case("bfloat16", "NHWC", 1, 12, 13, 8, 8, 64, 3, 3, (1, 2), (2, 1),
             ((1, 2), (0, 3)), seed=24),
        Case("bfloat16", "NCHW", 3, 7, 7, 9, 3, 3, 2, 3, (2, 1), (1, 2), "VALID", seed=25),
    ]
    cases = [c for c in random_cases(240, seed=4242)
             if c.dtype in ("float32", "float64", "bfloat16")][:90]
    cases += [c for c in MEDIUM_CASES if c.dtype in ("float32", "float64", "bfloat16")] + bf16
    failures = []
    for c in cases:
        try:
            check_case(c, compare_tf=False)
        except AssertionError as e:
            failures.append(str(e))
    dtypes = sorted({c.dtype for c in cases})
    print(json.dumps({"report": _loader.cpu_kernel_report(), "failures": failures,
                      "count": len(cases), "dtypes": dtypes}))
"""

NONFINITE_CODE = """
    import json
    import numpy as np
    import tensorflow as tf
    from tf_custom_op import conv2d_backprop_input
    from support.reference import conv2d_backprop_input_ref

    rng = np.random.default_rng(7)
    w = rng.standard_normal((3, 3, 5, 7)).astype(np.float32)
    w[0, 0, 1, 2] = np.inf
    w[2, 1, 3, 5] = -np.inf
    w[1, 2, 0, 6] = np.nan
    dy = rng.standard_normal((2, 6, 6, 7)).astype(np.float32)
    w_b = tf.cast(w, tf.bfloat16)
    dy_b = tf.cast(dy, tf.bfloat16)
    ours = conv2d_backprop_input([2, 6, 6, 5], w_b, dy_b, [1, 1, 1, 1], "SAME")
    ours = tf.cast(ours, tf.float64).numpy()
    ref = conv2d_backprop_input_ref([2, 6, 6, 5], tf.cast(w_b, tf.float64).numpy(),
                                    tf.cast(dy_b, tf.float64).numpy(), [1, 1, 1, 1], "SAME",
                                    "NHWC", [1, 1, 1, 1])
    same = (np.array_equal(np.isnan(ours), np.isnan(ref))
            and np.array_equal(np.isposinf(ours), np.isposinf(ref))
            and np.array_equal(np.isneginf(ours), np.isneginf(ref)))
    finite = np.isfinite(ref)
    print(json.dumps({"same_nonfinite": bool(same),
                      "nonfinite": int((~finite).sum()), "size": int(ref.size),
                      "max_err": float(np.max(np.abs(ours[finite] - ref[finite])))}))
"""


@pytest.fixture(scope="module")
def emulated_library():
    try:
        return op_build.build_x86_emulation_library()
    except subprocess.CalledProcessError as err:
        pytest.fail(f"the x86 emulation build failed: {err}")


# TF_CUSTOM_OP_ISA cap -> (tier reported, bfloat16 kernel expected)
CAPS = {"amx": ("amx", "amx-bf16-16x32"), "avx512_bf16": ("avx512_bf16", "avx512bf16-12x32")}


def _run(code, library, cap):
    proc = run_python(code, env={"TF_CUSTOM_OP_LIBRARY": library, "TF_CUSTOM_OP_ISA": cap},
                      timeout=900)
    assert proc.returncode == 0, f"rc={proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("cap", sorted(CAPS))
def test_emulated_kernels_through_tensorflow(emulated_library, cap):
    result = _run(CASES_CODE, emulated_library, cap)
    report = result["report"]
    tier, bf16_kernel = CAPS[cap]
    assert report["tier"] == tier, report
    kernels = {dtype: entry["kernel"] for dtype, entry in report["kernels"].items()}
    assert kernels["float32"] == "avx512-f32-12x32", kernels
    assert kernels["float64"] == "avx512-f64-12x16", kernels
    assert kernels["bfloat16"] == bf16_kernel, kernels
    assert report["kernels"]["bfloat16"]["reads"] == "bfloat16"
    assert result["dtypes"] == ["bfloat16", "float32", "float64"]
    assert result["count"] >= 100
    assert not result["failures"], "\n".join(result["failures"][:10])


@pytest.mark.parametrize("cap", sorted(CAPS))
def test_emulated_bfloat16_kernel_with_nonfinite_filter(emulated_library, cap):
    """Taps outside dy are skipped, not multiplied by zero: Inf and NaN land
    exactly where the reference puts them."""
    result = _run(NONFINITE_CODE, emulated_library, cap)
    assert result["nonfinite"] > 0 and result["nonfinite"] < result["size"], result
    assert result["same_nonfinite"], result
    assert result["max_err"] < 0.1, result
