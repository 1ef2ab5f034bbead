"""Compiles and links the op library (used by setup.py and the Makefile).

Each source is compiled with the flags it needs: TensorFlow's flags for the
files that include TF headers, -mavx2 -mfma only for the AVX2 micro-kernels
(the library must run on any x86-64), nvcc for the CUDA kernel when
configure.sh found nvcc. Writes _build_info.json next to the library with
the TensorFlow version it was built against, checked at load time.

--x86-emulation builds a test variant (CPU-only) whose AVX-512 tiers are
emulated in plain C++ (build_tools/sources.py, X86_EMULATED_SOURCES), so that
the tests can run those kernels through TensorFlow on any x86-64 CPU. It is
never the package's library.
"""
import concurrent.futures
import json
import os
import platform
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run as a script: build_tools must be importable
    sys.path.insert(0, ROOT)
CONFIG = os.path.join(ROOT, ".tf_config.mk")

# What is compiled, and with which flags: build_tools/sources.py.
from build_tools import sources  # noqa: E402
from build_tools.sources import (CUDA_SOURCES, GPU_TF_SOURCES, NVCC_FLAGS,  # noqa: E402
                                 PLAIN_SOURCES, TF_SOURCES, X86_EMULATED_SOURCES,
                                 X86_EMULATION_FLAGS, X86_SOURCES, XLA_CUDA_SOURCES,
                                 XLA_INCLUDE_SUBDIRS, XLA_LINK_LIBS, XLA_SOURCES, cuda_archs)

# The --x86-emulation test variant (tests/test_x86_emulation.py builds it).
X86_EMULATION_LIBRARY = os.path.join(ROOT, "build", "x86_emulation", "_conv2d_backprop_input_op.so")


def read_config():
    if not os.path.exists(CONFIG) or os.environ.get("TF_CUSTOM_OP_RECONFIGURE"):
        subprocess.check_call(["bash", os.path.join(ROOT, "configure.sh"), sys.executable])
    config = {}
    with open(CONFIG) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("=")
            config[key] = value
    return config


def _run(cmd):
    print(" ".join(shlex.quote(c) for c in cmd), flush=True)
    subprocess.check_call(cmd, cwd=ROOT)


def _try(cmd):
    """Runs `cmd`; False (its output shown) where it fails."""
    print(" ".join(shlex.quote(c) for c in cmd), flush=True)
    done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    if done.returncode != 0:
        print(done.stdout[-4000:], flush=True)
    return done.returncode == 0


def _extra_cxxflags():
    return shlex.split(os.environ.get("TF_CUSTOM_OP_CXXFLAGS", ""))


def build_library(target, build_dir=None, jobs=None, x86_emulation=False):
    config = read_config()
    build_dir = os.path.abspath(build_dir or os.path.join(ROOT, "build", "op"))
    os.makedirs(build_dir, exist_ok=True)
    tf_cflags = shlex.split(config["TF_CFLAGS"])
    tf_lflags = shlex.split(config["TF_LFLAGS"])
    cxx = os.environ.get("CXX", "g++")
    base = (sources.CXX_STANDARD_FLAGS + sources.CXX_OPTIMIZATION_FLAGS + sources.LIBRARY_CXX_FLAGS
            + ["-I" + ROOT] + sources.WARNING_FLAGS + _extra_cxxflags())
    # TF's own headers warn a lot: include them as system headers so that our
    # warning flags apply to our code only.
    tf_system = [f.replace("-I", "-isystem", 1) if f.startswith("-I") else f for f in tf_cflags]

    nvcc = config.get("NVCC", "")
    use_cuda = (bool(nvcc) and os.environ.get("TF_CUSTOM_OP_CPU_ONLY", "0") != "1"
                and not x86_emulation and all(os.path.exists(os.path.join(ROOT, s)) for s in GPU_TF_SOURCES + CUDA_SOURCES))
    is_x86 = platform.machine() in ("x86_64", "AMD64")

    jobs_list = []
    for src in TF_SOURCES:
        jobs_list.append((src, [cxx] + base + tf_system))
    for src in PLAIN_SOURCES:
        jobs_list.append((src, [cxx] + base + tf_system))
    if is_x86:
        for src, flags in X86_SOURCES.items():
            jobs_list.append((src, [cxx] + base + tf_system + flags))
    if use_cuda:
        for src in GPU_TF_SOURCES:
            jobs_list.append((src, [cxx] + base + tf_system + ["-DGOOGLE_CUDA=1"]))
    if x86_emulation:
        # The emulated sources: plain C++ with the emulation switched on, and
        # none of their ISA flags (the compiler must not emit AVX-512 there).
        jobs_list = [(src, [cxx] + base + tf_system + X86_EMULATION_FLAGS)
                     if src in X86_EMULATED_SOURCES else (src, cmd)
                     for src, cmd in jobs_list]

    objects = []
    # The XLA lowering: optional (a TF without its headers or symbols still
    # gets the library, without the lowering).
    use_xla = os.environ.get("TF_CUSTOM_OP_XLA", "1") != "0" and not x86_emulation
    xla_flags = ["-isystem" + os.path.join(config["TF_INCLUDE"], d) for d in XLA_INCLUDE_SUBDIRS]
    xla_jobs = [(src, [cxx] + base + tf_system + xla_flags)
                for src in XLA_SOURCES + (XLA_CUDA_SOURCES if use_cuda else [])]

    def object_of(src):
        return os.path.join(build_dir, src.replace("/", "_") + ".o")

    def compile_one(job, required=True):
        """The object of `job`; None where an optional one fails to compile."""
        src, cmd = job
        obj = object_of(src)
        command = cmd + ["-c", os.path.join(ROOT, src), "-o", obj]
        if required:
            _run(command)
            return obj
        return obj if _try(command) else None

    def compile_cuda(src):
        obj = object_of(src)
        _run([nvcc] + NVCC_FLAGS + ["-x", "cu", "-I" + ROOT, "-D_GLIBCXX_USE_CXX11_ABI=1"]
             + sources.gencode_flags(cuda_archs()) + ["-c", os.path.join(ROOT, src), "-o", obj])
        return obj

    jobs = jobs or int(os.environ.get("TF_CUSTOM_OP_JOBS", "2"))
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(compile_one, j) for j in jobs_list]
        if use_cuda:
            futures += [pool.submit(compile_cuda, s) for s in CUDA_SOURCES]
        xla_futures = [pool.submit(compile_one, j, False) for j in xla_jobs] if use_xla else []
        for f in futures:
            objects.append(f.result())
        xla_objects = [f.result() for f in xla_futures]

    def link_command(with_xla):
        link = [cxx, "-shared", "-o", os.path.abspath(target)] + objects
        if with_xla:
            link += xla_objects
        link += tf_lflags + (XLA_LINK_LIBS if with_xla else [])
        link += sources.LIBRARY_LINK_FLAGS
        if use_cuda:
            cuda_home = config.get("CUDA_HOME") or "/usr/local/cuda"
            libdirs = [os.path.join(cuda_home, d) for d in sources.CUDA_LIBRARY_DIRS]
            link += ["-L" + d for d in libdirs if os.path.isdir(d)]
            link += ["-l:" + sources.CUDART_STATIC] + sources.CUDART_LINK_LIBS
        return link + _extra_cxxflags()

    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    with_xla = use_xla and all(xla_objects)
    if with_xla and not _try(link_command(True)):
        with_xla = False
    if not with_xla:
        if use_xla:
            print("op_build: this TensorFlow lacks what the XLA lowering needs (above): building "
                  "without it; XLA graphs will use TensorFlow's own op", flush=True)
        _run(link_command(False))

    info = sources.build_info(config["TF_VERSION"], use_cuda, cuda_archs(), platform.machine(),
                              "op_build", x86_emulation)
    info_path = os.path.join(os.path.dirname(os.path.abspath(target)), "_build_info.json")
    with open(info_path, "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    print(f"built {target} ({'with CUDA kernel' if use_cuda else 'CPU-only: no nvcc, TF_CUSTOM_OP_CPU_ONLY=1 or no CUDA sources'}; "
          f"{'with' if with_xla else 'without'} the XLA lowering)")
    return target


def build_x86_emulation_library():
    """X86_EMULATION_LIBRARY, rebuilt when a source under cc/ or the build
    description is newer than it."""
    inputs = [os.path.join(folder, name)
              for top in ("cc", "build_tools")
              for folder, _, names in os.walk(os.path.join(ROOT, top)) for name in names]
    if os.path.exists(X86_EMULATION_LIBRARY):
        built = os.path.getmtime(X86_EMULATION_LIBRARY)
        if all(os.path.getmtime(p) <= built for p in inputs):
            return X86_EMULATION_LIBRARY
    return build_library(X86_EMULATION_LIBRARY,
                         build_dir=os.path.join(os.path.dirname(X86_EMULATION_LIBRARY), "obj"),
                         x86_emulation=True)


def main(argv=None):
    import argparse
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("output", nargs="?",
                        default=os.path.join(ROOT, "tf_custom_op", "_conv2d_backprop_input_op.so"))
    parser.add_argument("--build-dir", default=None,
                        help="object directory (default: build/op; give each variant its own)")
    parser.add_argument("--x86-emulation", action="store_true",
                        help="test variant: the AVX-512 tiers emulated in plain C++ (CPU-only)")
    args = parser.parse_args(argv)
    build_library(args.output, build_dir=args.build_dir, x86_emulation=args.x86_emulation)


if __name__ == "__main__":
    main()
