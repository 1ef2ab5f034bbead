"""The one description of what the project compiles, and with which flags.

Read by build_tools/op_build.py (setup.py and the Makefile's library), by
Bazel (build_defs/local_config.bzl parses the literal assignments below and
calls the functions at the end),
by build_tools/standalone_build.py (the GPU emulation test and the CPU engine
benchmark) and by tools/gpu_check.py. Paths are relative to the repository
root. Keep the lists literal: Bazel reads them with ast.literal_eval.

To add a CPU micro-kernel tier: add its translation unit with its ISA flags
to X86_SOURCES (or PLAIN_SOURCES when it needs none); the rest is one line each
in the tier table (cc/kernels/cpu/isa_tier.h) and a kernel table
(cc/kernels/cpu/micro_kernel_select.cc): docs/DESIGN.md, "Adding a tier".
"""

# Sources that include TensorFlow headers (compiled with TF's flags).
TF_SOURCES = [
    "cc/ops/conv2d_backprop_input_op.cc",
    "cc/kernels/conv_geometry.cc",
    "cc/kernels/cpu_kernel.cc",
    # TF-free, but half and bfloat16 are Eigen's types (TF's include path).
    "cc/kernels/cpu_backprop_input.cc",
]

# TensorFlow-free sources of the CPU engine, compiled for the baseline ISA.
PLAIN_SOURCES = [
    "cc/kernels/cpu/buffer_pool.cc",
    "cc/kernels/cpu/conv_algorithm.cc",
    "cc/kernels/cpu/filter_packing.cc",
    "cc/kernels/cpu/float_transpose.cc",
    "cc/kernels/cpu/gather_engine.cc",
    "cc/kernels/cpu/gather_engine_across_images.cc",
    "cc/kernels/cpu/isa_tier.cc",
    "cc/kernels/cpu/kernel_calibration.cc",
    "cc/kernels/cpu/kernel_report.cc",
    "cc/kernels/cpu/micro_kernel_portable.cc",
    "cc/kernels/cpu/micro_kernel_select.cc",
    "cc/kernels/cpu/pixel_engine.cc",
    "cc/kernels/cpu/run_timing.cc",
    "cc/kernels/cpu/winograd_engine.cc",
    "cc/kernels/cpu/winograd_transform.cc",
]

# Sources with instruction-set flags of their own (x86-64 only); chosen at
# run time from CPUID, so the library still runs on any x86-64.
X86_SOURCES = {
    "cc/kernels/cpu/micro_kernel_avx2.cc": ["-mavx2", "-mfma"],
    "cc/kernels/cpu/micro_kernel_avx512.cc": ["-mavx512f", "-mavx512vl", "-mavx512bw",
                                              "-mavx512dq", "-mfma"],
    "cc/kernels/cpu/micro_kernel_avx512_kvec.cc": ["-mavx512f", "-mavx512vl", "-mavx512bw",
                                                   "-mavx512dq", "-mfma"],
    "cc/kernels/cpu/micro_kernel_avx512_bf16.cc": ["-mavx512f", "-mavx512vl", "-mavx512bw",
                                                   "-mavx512dq", "-mfma", "-mavx512bf16"],
    "cc/kernels/cpu/micro_kernel_amx.cc": ["-mamx-tile", "-mamx-bf16"],
    "cc/kernels/cpu/half_convert_f16c.cc": ["-mavx2", "-mf16c"],
    "cc/kernels/cpu/float_transpose_avx2.cc": ["-mavx2"],
    "cc/kernels/cpu/bfloat16_convert_avx2.cc": ["-mavx2"],
}

# The kernel tester can also run the AVX-512 and AMX tiers on a CPU without them
# (`make cpu-kernel-emulation`, tests/test_cpu_kernels.py): these sources are
# then compiled with X86_EMULATION_FLAGS and without ISA flags. The kernels
# (which include cc/kernels/cpu/x86_intrinsics.h) become plain C++ against
# cc/kernels/cpu/x86_emulation.h, and isa_tier.cc reports their tiers as
# present. The library never contains the emulation.
X86_EMULATED_SOURCES = [
    "cc/kernels/cpu/micro_kernel_avx512.cc",
    "cc/kernels/cpu/micro_kernel_avx512_kvec.cc",
    "cc/kernels/cpu/micro_kernel_avx512_bf16.cc",
    "cc/kernels/cpu/micro_kernel_amx.cc",
    "cc/kernels/cpu/isa_tier.cc",
]
X86_EMULATION_FLAGS = ["-DTFCO_X86_EMULATION"]

# The XLA lowering (cc/xla/, docs/DESIGN.md "Under XLA"): the op's XLA kernel
# and its custom-call target, compiled with TF's flags plus the folders under
# TF's include directory where the wheel keeps the headers XLA's own headers
# include, and linked against libtensorflow_cc (XLA's builder, kernel
# registry and FFI live there). Where a TensorFlow lacks a header or a
# symbol, the library is built without them (op_build.py says so) and the
# package routes XLA graphs to TF's op.
XLA_SOURCES = ["cc/xla/conv2d_backprop_input_xla.cc", "cc/xla/cpu_custom_call.cc"]
# The CUDA custom-call target, with the lowering and the CUDA kernel both
# built (host compiler; it includes no CUDA header).
XLA_CUDA_SOURCES = ["cc/xla/cuda_custom_call.cc"]
XLA_INCLUDE_SUBDIRS = ["external/highwayhash", "external/farmhash_archive/src"]
# What Bazel checks under TF's include directory before it builds the
# lowering (it cannot fall back on a failed compile as op_build.py does).
XLA_REQUIRED_HEADERS = ["tensorflow/compiler/tf2xla/xla_op_kernel.h", "xla/ffi/api/ffi.h",
                        "highwayhash/highwayhash.h", "farmhash.h"]
XLA_LINK_LIBS = ["-l:libtensorflow_cc.so.2"]

# The TF-side GPU registration (g++ with -DGOOGLE_CUDA=1) and the CUDA
# translation unit (nvcc; no TF headers), built when nvcc is available.
GPU_TF_SOURCES = ["cc/kernels/gpu/gpu_kernel.cc"]
CUDA_SOURCES = ["cc/kernels/gpu/conv_backprop_input.cu.cc"]

# SASS targets (plus PTX of the last: gencode_flags). nvcc 13 supports sm_75
# and newer. TF_CUSTOM_OP_CUDA_ARCHS narrows them (cuda_archs).
CUDA_ARCHS = ["75", "80", "86", "89", "90"]

# The compile and link recipe every build path reads (op_build.py for pip and
# make, Bazel through build_defs/local_config.bzl, standalone_build.py and
# tools/gpu_check.py). C++ flags of every object (a sanitized build replaces
# the optimization flag with SANITIZER_FLAGS' own):
CXX_STANDARD_FLAGS = ["-std=c++17"]
CXX_OPTIMIZATION_FLAGS = ["-O3"]
WARNING_FLAGS = ["-Wall", "-Wextra"]
# Objects of the shared op library, and its link: no symbol left undefined.
LIBRARY_CXX_FLAGS = ["-fPIC"]
LIBRARY_LINK_FLAGS = ["-Wl,--no-undefined", "-Wl,-z,defs"]
# Where a CUDA toolkit keeps libcudart_static.a (relative to its root, in
# the order searched), and what linking it statically needs besides.
CUDA_LIBRARY_DIRS = ["lib64", "lib", "targets/x86_64-linux/lib", "targets/sbsa-linux/lib"]
CUDART_STATIC = "libcudart_static.a"
CUDART_LINK_LIBS = ["-ldl", "-lrt", "-lpthread"]
# The keys of _build_info.json, which every library build writes beside the
# library and the package reads at load time (tf_custom_op/_loader.py).
BUILD_INFO_KEYS = ["tensorflow_version", "cuda", "cuda_archs", "machine", "build",
                   "x86_emulation"]

# nvcc flags for the CUDA kernel wherever it is compiled (besides -gencode,
# -c/-o and -shared). -diag-suppress 177: helpers only some dtypes use.
NVCC_FLAGS = ["-std=c++17", "-O3", "-Xcompiler", "-fPIC", "--expt-relaxed-constexpr",
              "-diag-suppress", "177"]

# Headers the CUDA kernel includes (rebuild triggers for the standalone builds).
CUDA_HEADERS = [
    "cc/kernels/gpu/conv_backprop_input_gpu.h",
    "cc/kernels/gpu/kernel_args.h",
    "cc/kernels/gpu/device_math.h",
    "cc/kernels/gpu/tile_loader.h",
    "cc/kernels/gpu/main_loop.h",
    "cc/kernels/gpu/simt_kernel.h",
    "cc/kernels/gpu/warp_tile.h",
    "cc/kernels/gpu/tensor_core_kernel.h",
    "cc/kernels/gpu/transpose_kernel.h",
    "cc/kernels/gpu/non_finite_guard.h",
    "cc/kernels/gpu/phase_planning.h",
    "cc/kernels/conv_params.h",
    "cc/kernels/phase_plan.h",
    "cc/kernels/axis_window.h",
]

# The CUDA kernel compiled as host C++ (cc/kernels/gpu/cuda_emulation.h) with
# its test driver: `make gpu-emulation`, tests/test_gpu_emulation.py.
GPU_EMULATION_DRIVER = "tests/gpu_emulation/emulation_test.cc"
GPU_EMULATION_HEADERS = ["cc/kernels/gpu/cuda_emulation.h",
                         "tests/native_common/conv_case.h",
                         "tests/native_common/non_finite_cases.h"]
# Besides CXX_STANDARD_FLAGS and WARNING_FLAGS (-O2: the emulated kernels
# are many template instances; -O3 only lengthened the build).
GPU_EMULATION_FLAGS = ["-O2", "-pthread", "-DTFCO_CUDA_EMULATION"]

# Unit test of the CUDA launcher's host-side phase planning
# (cc/kernels/gpu/phase_planning.h) against a brute-force enumeration of the
# taps: plain g++, neither CUDA nor the emulation. `make gpu-phase-planning`,
# tests/test_gpu_emulation.py.
PHASE_PLANNING_DRIVER = "tests/gpu_emulation/phase_planning_test.cc"
PHASE_PLANNING_HEADERS = [
    "cc/kernels/gpu/phase_planning.h",
    "cc/kernels/gpu/kernel_args.h",
    "cc/kernels/conv_params.h",
    "cc/kernels/phase_plan.h",
    "cc/kernels/axis_window.h",
]
PHASE_PLANNING_FLAGS = ["-O2"]  # besides CXX_STANDARD_FLAGS and WARNING_FLAGS

# Programs built on the CPU engine alone (no TF), with PLAIN_SOURCES and
# X86_SOURCES: the single-thread benchmark (`make cpu-engine-bench`) and the
# tier-by-tier kernel and engine tester (`make cpu-kernel-test`, run by the
# tests; also built with X86_EMULATED_SOURCES emulated).
ENGINE_BENCH_DRIVER = "tools/cpu_engine_bench.cc"
CPU_KERNEL_TEST_DRIVER = "tests/cpu_engine/kernel_test.cc"
# Headers the two TF-free testers share (the CPU one and the GPU emulation).
TESTER_HEADERS = ["tests/native_common/conv_case.h", "tests/native_common/non_finite_cases.h"]

# tools/gpu_check.py's shared library: the kernel plus a C shim for ctypes.
GPU_CHECK_SHIM = "tools/gpu_check_shim.cu.cc"

# AddressSanitizer + UndefinedBehaviorSanitizer: any report aborts. Used for
# the TF-free testers (standalone_build.py --sanitize, run by the tests) and,
# with SANITIZER_TF_EXCLUSIONS, for the op library (`make sanitize`).
SANITIZER_FLAGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
                   "-fno-omit-frame-pointer", "-g", "-O1"]
# GCC 12 rejects absl's constexpr function-pointer comparisons (TF headers)
# under these checks: the op library leaves them out (ASan still catches null
# dereferences).
SANITIZER_TF_EXCLUSIONS = ["-fno-sanitize=null,nonnull-attribute,returns-nonnull-attribute"]
# The sanitizer runtimes' options for running an instrumented program.
SANITIZER_ENV = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1",
                 "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}


def cuda_archs(environ=None):
    """CUDA_ARCHS, or TF_CUSTOM_OP_CUDA_ARCHS ("80", comma or space separated)
    where set: narrows the targets while iterating on the kernel."""
    import os
    environ = os.environ if environ is None else environ
    override = environ.get("TF_CUSTOM_OP_CUDA_ARCHS", "").replace(",", " ").split()
    return override or list(CUDA_ARCHS)


def gencode_flags(archs):
    """nvcc's -gencode flags: SASS for every arch, and PTX of the last, so
    that a newer GPU can still compile the kernel at load time."""
    flags = []
    for arch in archs:
        flags += ["-gencode", f"arch=compute_{arch},code=sm_{arch}"]
    return flags + ["-gencode", f"arch=compute_{archs[-1]},code=compute_{archs[-1]}"]


def build_info(tensorflow_version, cuda, archs, machine, build, x86_emulation=False):
    """The content of _build_info.json (keys: BUILD_INFO_KEYS)."""
    info = {"tensorflow_version": tensorflow_version, "cuda": bool(cuda),
            "cuda_archs": list(archs) if cuda else [], "machine": machine, "build": build,
            "x86_emulation": bool(x86_emulation)}
    assert list(info) == BUILD_INFO_KEYS
    return info
