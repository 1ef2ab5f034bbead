"""The CUDA kernels, run on the host through cc/kernels/gpu/cuda_emulation.h.

Compiles the CUDA kernel and tests/gpu_emulation/emulation_test.cc with g++
only (no nvcc, no GPU; build_tools/standalone_build.py, the same build as
`make gpu-emulation`, with -Werror) and runs the driver, which compares every
dtype and configuration with a naive reference. Also builds and runs the
plain-g++ unit test of the launcher's host-side phase planning
(tests/gpu_emulation/phase_planning_test.cc, `make gpu-phase-planning`).
"""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from build_tools import standalone_build  # noqa: E402
from tf_custom_op import dtypes  # noqa: E402


def _built(build, **options):
    if shutil.which(os.environ.get("CXX", "g++")) is None:
        pytest.skip("no C++ compiler")
    try:
        return build(werror=True, **options)
    except RuntimeError as err:
        pytest.fail(str(err))


def _run(binary, timeout, env=None):
    """Runs a driver that prints PASS/FAIL lines and an "N passed, M failed"
    summary; fails the test on any failure. Returns the output lines."""
    proc = subprocess.run([binary], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env=env)
    lines = proc.stdout.strip().splitlines()
    failures = [line for line in lines if line.startswith("FAIL")]
    summary = lines[-1] if lines else proc.stderr[-2000:]
    assert proc.returncode == 0 and not failures and summary.endswith(" 0 failed"), (
        f"{summary}\n" + "\n".join(failures[:40]) + "\n" + proc.stderr[-2000:])
    return lines


@pytest.fixture(scope="module")
def emulation_binary():
    return _built(standalone_build.build_gpu_emulation)


@pytest.fixture(scope="module")
def phase_planning_binary():
    return _built(standalone_build.build_phase_planning)


@pytest.fixture(scope="module")
def emulation_lines(emulation_binary):
    return _run(emulation_binary, timeout=1200)


def test_cuda_kernels_under_host_emulation(emulation_lines):
    lines = emulation_lines
    passed = [line for line in lines if line.startswith("PASS")]
    # 5 dtypes x 2 layouts per case: make sure the run covered them all.
    for dtype in dtypes.NAMES:
        assert any(line.endswith(dtype) and " NCHW " in line for line in passed)
        assert any(line.endswith(dtype) and " NHWC " in line for line in passed)


def test_phase_planning_against_brute_force(phase_planning_binary):
    summary = _run(phase_planning_binary, timeout=600)[-1]
    # Thousands of stride / dilation / padding / filter combinations.
    assert int(summary.split()[0]) > 1000, summary


def test_cuda_kernels_under_host_emulation_with_sanitizers():
    """The same driver built with AddressSanitizer and UBSan: an index past a
    tile, the workspace or a tensor aborts the run."""
    binary = _built(standalone_build.build_gpu_emulation, sanitize=True)
    _run(binary, timeout=1200, env=standalone_build.sanitizer_env())


def test_k_steps_and_non_finite_values_are_covered(emulation_lines):
    """K_g at and around the tensor-core kernel's k-step (BK = 32) and Inf /
    NaN in filter and dy reach every floating dtype, both layouts."""
    lines = emulation_lines
    for kg in (15, 16, 17, 31, 32, 33, 63, 64, 65):
        for dtype in dtypes.HALF_WIDTH + ("float32",):
            assert any(line.startswith(f"PASS kg{kg}_step ") and line.split()[-1] == dtype
                       for line in lines), (kg, dtype)
    for poison in ("filter_inf_first", "filter_nan_last", "filter_neginf_last_channel_first_k",
                   "dy_inf_first", "dy_nan_last", "dy_neginf_last_channel_first_k"):
        for dtype in dtypes.FLOATING:
            assert sum(1 for line in lines if poison in line and line.split()[-1] == dtype) == 6, \
                (poison, dtype)
