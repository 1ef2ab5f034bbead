"""Builds the TensorFlow-free programs of the project with g++, from the lists
in build_tools/sources.py:

  gpu-emulation      the CUDA kernel compiled as host C++ with its test driver
                     (build/gpu_emulation/emulation_test)
  gpu-phase-planning the CUDA launcher's host-side phase planning, unit-tested
                     with plain g++ (build/gpu_phase_planning/phase_planning_test)
  cpu-engine-bench   the single-thread CPU engine benchmark
                     (build/cpu_engine_bench)
  cpu-kernel-test    every CPU micro-kernel tier this CPU has, alone and in the
                     engine, against scalar loops (build/cpu_kernel_test)
  cpu-kernel-emulation
                     the same tester with the AVX-512 tiers' kernels compiled as
                     plain C++ (cc/kernels/cpu/x86_emulation.h), so they run on
                     any x86-64 (build/cpu_kernel_emulation_test)

    python3 build_tools/standalone_build.py gpu-emulation [--werror] [--run]
    python3 build_tools/standalone_build.py cpu-kernel-test --sanitize --run

--sanitize builds the testers with AddressSanitizer and UBSan
(sources.SANITIZER_FLAGS) into build/sanitized/; `--run` then runs them with
the sanitizer runtimes set to abort on the first report.

Rebuilds only when a source or header is newer than the binary. Needs
neither TensorFlow nor nvcc: plain python3 and g++ (or $CXX).
"""
import argparse
import glob
import os
import platform
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from build_tools import sources  # noqa: E402

GPU_EMULATION_BINARY = os.path.join(ROOT, "build", "gpu_emulation", "emulation_test")
PHASE_PLANNING_BINARY = os.path.join(ROOT, "build", "gpu_phase_planning", "phase_planning_test")
ENGINE_BENCH_BINARY = os.path.join(ROOT, "build", "cpu_engine_bench")
CPU_KERNEL_TEST_BINARY = os.path.join(ROOT, "build", "cpu_kernel_test")
CPU_KERNEL_EMULATION_BINARY = os.path.join(ROOT, "build", "cpu_kernel_emulation_test")


def _cxx():
    cxx = os.environ.get("CXX", "g++")
    if shutil.which(cxx) is None:
        raise FileNotFoundError(f"{cxx} not found")
    return cxx


def _stale(binary, inputs):
    if not os.path.exists(binary):
        return True
    built = os.path.getmtime(binary)
    return any(os.path.getmtime(os.path.join(ROOT, path)) > built for path in inputs)


def _headers_under(folder):
    return [os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, folder, "**", "*.h"),
                                                        recursive=True)]


def _link(binary, cmd):
    os.makedirs(os.path.dirname(binary), exist_ok=True)
    print(" ".join(cmd), flush=True)
    proc = subprocess.run(cmd + ["-o", binary + ".tmp"], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"build of {binary} failed:\n{proc.stderr[-6000:]}")
    os.replace(binary + ".tmp", binary)
    return binary


def sanitized(binary):
    """Where the --sanitize build of `binary` goes."""
    return os.path.join(ROOT, "build", "sanitized", os.path.basename(binary))


def _optimization(sanitize):
    """The recipe's optimization, or the sanitizers' flags (which carry their
    own -O1 -g)."""
    return list(sources.SANITIZER_FLAGS) if sanitize else list(sources.CXX_OPTIMIZATION_FLAGS)


def build_gpu_emulation(werror=False, sanitize=False):
    """The CUDA translation unit as host C++ (cuda_emulation.h) + its driver."""
    kernel, = sources.CUDA_SOURCES
    binary = sanitized(GPU_EMULATION_BINARY) if sanitize else GPU_EMULATION_BINARY
    inputs = [kernel, sources.GPU_EMULATION_DRIVER] + sources.CUDA_HEADERS + \
        sources.GPU_EMULATION_HEADERS
    if not _stale(binary, inputs):
        return binary
    flags = sources.CXX_STANDARD_FLAGS + sources.WARNING_FLAGS + sources.GPU_EMULATION_FLAGS + \
        (["-Werror"] if werror else []) + \
        (sources.SANITIZER_FLAGS if sanitize else [])
    return _link(binary, [_cxx()] + flags + ["-I" + ROOT, "-x", "c++", kernel,
                          "-x", "none", sources.GPU_EMULATION_DRIVER])


def build_phase_planning(werror=False):
    """The phase-planning unit test: plain C++, no CUDA and no emulation."""
    inputs = [sources.PHASE_PLANNING_DRIVER] + sources.PHASE_PLANNING_HEADERS
    if not _stale(PHASE_PLANNING_BINARY, inputs):
        return PHASE_PLANNING_BINARY
    flags = sources.CXX_STANDARD_FLAGS + sources.WARNING_FLAGS + sources.PHASE_PLANNING_FLAGS + \
        (["-Werror"] if werror else [])
    return _link(PHASE_PLANNING_BINARY,
                 [_cxx()] + flags + ["-I" + ROOT, sources.PHASE_PLANNING_DRIVER])


def _build_on_engine(binary, driver, werror=False, emulate=False, sanitize=False):
    """`driver` linked with the CPU engine (plain and ISA-specific sources).

    With `emulate`, X86_EMULATED_SOURCES are compiled as plain C++ against the
    x86 emulation, and isa_tier.cc counts their tiers as present.
    """
    x86 = platform.machine() in ("x86_64", "AMD64")
    units = [(src, []) for src in sources.PLAIN_SOURCES]
    if x86:
        units += list(sources.X86_SOURCES.items())
    if emulate:
        emulated = set(sources.X86_EMULATED_SOURCES)
        units = [(src, sources.X86_EMULATION_FLAGS if src in emulated else flags)
                 for src, flags in units]
    inputs = [src for src, _ in units] + [driver] + _headers_under("cc/kernels") + \
        sources.TESTER_HEADERS
    if not _stale(binary, inputs):
        return binary
    warnings = sources.WARNING_FLAGS + (["-Werror"] if werror else [])
    objects_dir = os.path.join(ROOT, "build", "sanitized" if sanitize else "",
                               "cpu_emulation_obj" if emulate else "cpu_engine_obj")
    os.makedirs(objects_dir, exist_ok=True)
    objects = []
    for src, flags in units:
        obj = os.path.join(objects_dir, src.replace("/", "_") + ".o")
        cmd = [_cxx()] + _optimization(sanitize) + sources.CXX_STANDARD_FLAGS + ["-I" + ROOT] + \
            warnings + flags + ["-c", src, "-o", obj]
        print(" ".join(cmd), flush=True)
        subprocess.check_call(cmd, cwd=ROOT)
        objects.append(obj)
    driver_flags = sources.X86_EMULATION_FLAGS if emulate else []
    return _link(binary, [_cxx()] + _optimization(sanitize) + sources.CXX_STANDARD_FLAGS +
                 ["-I" + ROOT] + warnings + driver_flags + [driver] + objects + ["-pthread"])


def build_engine_bench():
    """The single-thread CPU engine benchmark."""
    return _build_on_engine(ENGINE_BENCH_BINARY, sources.ENGINE_BENCH_DRIVER)


def build_cpu_kernel_test(werror=False, sanitize=False):
    """The tier-by-tier micro-kernel and engine tester."""
    binary = sanitized(CPU_KERNEL_TEST_BINARY) if sanitize else CPU_KERNEL_TEST_BINARY
    return _build_on_engine(binary, sources.CPU_KERNEL_TEST_DRIVER, werror, sanitize=sanitize)


def build_cpu_kernel_emulation(werror=False, sanitize=False):
    """The same tester with the AVX-512 tiers emulated in plain C++."""
    if platform.machine() not in ("x86_64", "AMD64"):
        raise RuntimeError("the x86 emulation build is for x86-64 hosts")
    binary = sanitized(CPU_KERNEL_EMULATION_BINARY) if sanitize else CPU_KERNEL_EMULATION_BINARY
    return _build_on_engine(binary, sources.CPU_KERNEL_TEST_DRIVER, werror, emulate=True,
                            sanitize=sanitize)


def sanitizer_env():
    """The environment to run a --sanitize build in."""
    return dict(os.environ, **sources.SANITIZER_ENV)


# target -> build(werror, sanitize); None where --sanitize is not offered.
TARGETS = {
    "gpu-emulation": lambda werror, sanitize: build_gpu_emulation(werror, sanitize),
    "gpu-phase-planning": lambda werror, sanitize: build_phase_planning(werror=werror),
    "cpu-engine-bench": lambda werror, sanitize: build_engine_bench(),
    "cpu-kernel-test": lambda werror, sanitize: build_cpu_kernel_test(werror, sanitize),
    "cpu-kernel-emulation": lambda werror, sanitize: build_cpu_kernel_emulation(werror, sanitize),
}
SANITIZABLE = ("gpu-emulation", "cpu-kernel-test", "cpu-kernel-emulation")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", choices=sorted(TARGETS))
    parser.add_argument("--werror", action="store_true", help="warnings are errors")
    parser.add_argument("--run", action="store_true", help="run the program after building it")
    parser.add_argument("--sanitize", action="store_true",
                        help="AddressSanitizer + UBSan build into build/sanitized/ "
                             f"({', '.join(SANITIZABLE)})")
    args, rest = parser.parse_known_args(argv)
    if args.sanitize and args.target not in SANITIZABLE:
        parser.error(f"--sanitize is for {', '.join(SANITIZABLE)}")
    binary = TARGETS[args.target](args.werror, args.sanitize)
    if args.run:
        env = sanitizer_env() if args.sanitize else None
        return subprocess.call([binary] + rest, cwd=ROOT, env=env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
