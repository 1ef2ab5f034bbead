"""The CUDA kernels, run on the host through cc/kernels/gpu/cuda_emulation.h.

Compiles conv_backprop_input.cu.cc and tests/gpu_emulation/emulation_test.cc
with g++ only (no nvcc, no GPU) into build/gpu_emulation/ and runs the
driver, which compares every dtype and configuration with a naive reference.
The same build: `make gpu-emulation`.
"""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD_DIR = os.path.join(ROOT, "build", "gpu_emulation")
BINARY = os.path.join(BUILD_DIR, "emulation_test")
KERNEL = "cc/kernels/gpu/conv_backprop_input.cu.cc"
DRIVER = "tests/gpu_emulation/emulation_test.cc"
DEPENDENCIES = [
    KERNEL,
    DRIVER,
    "cc/kernels/gpu/conv_backprop_input_gpu.h",
    "cc/kernels/gpu/cuda_emulation.h",
    "cc/kernels/conv_params.h",
    "cc/kernels/phase_plan.h",
]


def _needs_build():
    if not os.path.exists(BINARY):
        return True
    built = os.path.getmtime(BINARY)
    return any(os.path.getmtime(os.path.join(ROOT, d)) > built for d in DEPENDENCIES)


@pytest.fixture(scope="module")
def emulation_binary():
    cxx = os.environ.get("CXX", "g++")
    if shutil.which(cxx) is None:
        pytest.skip(f"{cxx} not found")
    if _needs_build():
        os.makedirs(BUILD_DIR, exist_ok=True)
        cmd = [cxx, "-std=c++17", "-O2", "-Wall", "-Wextra", "-Werror", "-pthread",
               "-DTFCO_CUDA_EMULATION", "-I" + ROOT, "-x", "c++", os.path.join(ROOT, KERNEL),
               "-x", "none", os.path.join(ROOT, DRIVER), "-o", BINARY + ".tmp"]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode == 0, "emulation build failed:\n" + proc.stderr[-6000:]
        os.replace(BINARY + ".tmp", BINARY)
    return BINARY


def test_cuda_kernels_under_host_emulation(emulation_binary):
    proc = subprocess.run([emulation_binary], cwd=ROOT, capture_output=True, text=True,
                          timeout=1200)
    lines = proc.stdout.strip().splitlines()
    failures = [line for line in lines if line.startswith("FAIL")]
    summary = lines[-1] if lines else proc.stderr[-2000:]
    assert proc.returncode == 0 and not failures, (
        f"{summary}\n" + "\n".join(failures[:40]) + "\n" + proc.stderr[-2000:])
    passed = [line for line in lines if line.startswith("PASS")]
    # 5 dtypes x 2 layouts per case: make sure the run covered them all.
    for dtype in ("float32", "float64", "int32", "float16", "bfloat16"):
        assert any(line.endswith(dtype) and " NCHW " in line for line in passed)
        assert any(line.endswith(dtype) and " NHWC " in line for line in passed)
