"""The CPU micro-kernels tier by tier, without TensorFlow.

build_tools/standalone_build.py builds tests/cpu_engine/kernel_test.cc (the
same as `make cpu-kernel-test`), which checks every kernel of every table
whose tier this CPU supports, alone and inside the engine, against scalar
loops. One test per tier reports what ran; a tier the CPU lacks (or that has
no kernel yet) is a skip whose reason says so (`pytest -rs`).

The same tester is also built with the AVX-512 and AMX tiers' kernels compiled
as plain C++ against cc/kernels/cpu/x86_emulation.h (`make cpu-kernel-emulation`),
so those kernels run and are checked on every x86-64 machine, whatever its CPU.
Both are also built and run under AddressSanitizer and UBSan.
"""
import os
import platform
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from build_tools import standalone_build  # noqa: E402

from tf_custom_op import _loader  # noqa: E402

# The tier table of the library (cc/kernels/cpu/isa_tier.h): every tier, and
# those the emulation build runs as plain C++.
_REPORT = _loader.cpu_kernel_report()
TIERS = _REPORT["tiers"]
EMULATED_TIERS = _REPORT["tester_emulates"]


def _run_tester(build, sanitize=False):
    if shutil.which(os.environ.get("CXX", "g++")) is None:
        pytest.skip("no C++ compiler")
    try:
        binary = build(werror=True, sanitize=sanitize)
    except (RuntimeError, subprocess.CalledProcessError) as err:
        pytest.fail(f"tester build failed: {err}")
    env = standalone_build.sanitizer_env() if sanitize else None
    # Sanitized runs look for bad accesses: fewer micro-kernel depths suffice.
    return subprocess.run([binary] + (["--quick"] if sanitize else []), cwd=ROOT,
                          capture_output=True, text=True, timeout=900, env=env)


def _assert_all_passed(proc):
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 0 and lines and lines[-1].endswith(" 0 failed"), (
        proc.stdout[-4000:] + proc.stderr[-2000:])
    assert re.match(r"\d+ passed, 0 failed", lines[-1]) and not lines[-1].startswith("0 passed")


@pytest.fixture(scope="module")
def tester_output():
    return _run_tester(standalone_build.build_cpu_kernel_test)


@pytest.fixture(scope="module")
def emulation_output():
    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("the x86 emulation build is for x86-64 hosts")
    return _run_tester(standalone_build.build_cpu_kernel_emulation)


def test_every_available_kernel_passes(tester_output):
    _assert_all_passed(tester_output)


def test_every_kernel_passes_with_avx512_emulated(emulation_output):
    _assert_all_passed(emulation_output)


# The same two testers built with AddressSanitizer and UBSan (any report
# aborts the run): reads past a packed panel, the filter or a dy row, and
# undefined arithmetic, which a value check can miss.
def test_native_tester_under_sanitizers():
    _assert_all_passed(_run_tester(standalone_build.build_cpu_kernel_test, sanitize=True))


def test_emulated_tester_under_sanitizers():
    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("the x86 emulation build is for x86-64 hosts")
    _assert_all_passed(_run_tester(standalone_build.build_cpu_kernel_emulation, sanitize=True))


@pytest.mark.parametrize("tier", EMULATED_TIERS)
def test_emulated_tier_ran(emulation_output, tier):
    # The tester prints one line per kernel table line: RAN, FAIL or SKIP.
    # Emulated, every kernel of the tier must have run; none skipped.
    lines = emulation_output.stdout.splitlines()
    ran = [l for l in lines if l.startswith("RAN") and f"tier {tier} (emulated):" in l]
    skipped = [l for l in lines if l.startswith("SKIP") and f"lacks {tier})" in l]
    assert ran and not skipped, emulation_output.stdout


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
