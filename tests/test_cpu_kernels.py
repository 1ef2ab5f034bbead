"""The CPU micro-kernels tier by tier, without TensorFlow.

build_tools/standalone_build.py builds tests/cpu_engine/kernel_test.cc (the
same as `make cpu-kernel-test`), which checks every kernel of every table
whose tier this CPU supports, alone and inside the engine, against scalar
loops. One test per tier reports what ran; a tier the CPU lacks (or that has
no kernel yet) is a skip whose reason says so (`pytest -rs`).
"""
import os
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from build_tools import standalone_build  # noqa: E402

TIERS = ["portable", "avx2", "avx512", "avx512_bf16", "amx"]


@pytest.fixture(scope="module")
def tester_output():
    if shutil.which(os.environ.get("CXX", "g++")) is None:
        pytest.skip("no C++ compiler")
    try:
        binary = standalone_build.build_cpu_kernel_test(werror=True)
    except (RuntimeError, subprocess.CalledProcessError) as err:
        pytest.fail(f"tester build failed: {err}")
    proc = subprocess.run([binary], cwd=ROOT, capture_output=True, text=True, timeout=900)
    return proc


def test_every_available_kernel_passes(tester_output):
    lines = tester_output.stdout.strip().splitlines()
    assert tester_output.returncode == 0 and lines and lines[-1].endswith(" 0 failed"), (
        tester_output.stdout[-4000:] + tester_output.stderr[-2000:])
    assert re.match(r"\d+ passed, 0 failed", lines[-1]) and not lines[-1].startswith("0 passed")


@pytest.mark.parametrize("tier", TIERS)
def test_tier(tester_output, tier):
    ran = [l for l in tester_output.stdout.splitlines() if l.startswith("RAN") and f"tier {tier}:" in l]
    skipped = [l for l in tester_output.stdout.splitlines()
               if l.startswith("SKIP") and l.endswith(f"lacks {tier})")]
    if ran:
        return
    if skipped:
        pytest.skip("; ".join(" ".join(l.split()[1:3]) for l in skipped) + f": this CPU lacks {tier}")
    pytest.skip(f"no micro-kernel of tier {tier} in the kernel tables yet")
