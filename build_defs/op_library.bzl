"""The op library's C++/CUDA targets, from build_tools/sources.py.

Mirrors build_tools/op_build.py (the setup.py build) target by target:
  * TF_SOURCES + PLAIN_SOURCES: one cc_library with TensorFlow's flags;
  * X86_SOURCES: one cc_library per file, with its ISA flags on x86-64 only;
  * GPU_TF_SOURCES (-DGOOGLE_CUDA=1) and CUDA_SOURCES (a genrule calling nvcc),
    when configure.sh found nvcc and those files exist; CPU-only otherwise;
  * XLA_SOURCES: the XLA lowering, where TF ships libtensorflow_cc and its
    headers (op_build.py also leaves it out where it fails to compile or link),
    with XLA_CUDA_SOURCES when the CUDA kernel is built.
"""

load(
    "@local_config_op_build//:defs.bzl",
    "BUILD_INFO_KEYS",
    "CUDA_ARCHS",
    "CUDA_ENABLED",
    "CXX_OPTIMIZATION_FLAGS",
    "NVCC",
    "NVCC_FLAGS",
    "NVCC_GENCODE",
    "WARNING_FLAGS",
    "XLA_CUDA_SOURCES",
    "XLA_HEADERS_PRESENT",
    "XLA_INCLUDE_SUBDIRS",
)
load("@local_config_tf//:defs.bzl", "TF_CC_PRESENT", "TF_COPTS", "TF_DEFINES", "TF_VERSION")

# As op_build.py: the recipe's optimization and warnings (TF's headers are
# -isystem; TF's flags carry the language standard).
OP_COPTS = TF_COPTS + CXX_OPTIMIZATION_FLAGS + WARNING_FLAGS

def _nvcc_object(name, src, hdrs):
    """A genrule compiling one CUDA source with nvcc into a PIC object."""
    out = name + ".pic.o"
    defines = " ".join(["-D" + d for d in TF_DEFINES])
    native.genrule(
        name = name,
        srcs = [src] + hdrs,
        outs = [out],
        cmd = " ".join([
            NVCC,
            " ".join(NVCC_FLAGS),
            "-x cu -I.",
            defines,
            " ".join(NVCC_GENCODE),
            "-c $(location {}) -o $@".format(src),
        ]),
        message = "nvcc " + src,
    )
    return out

def op_library(name, tf_sources, plain_sources, x86_sources, gpu_tf_sources, cuda_sources,
               xla_sources = []):
    """Defines cc_library `name` holding every object of the op library.

    Its dependents get the objects with alwayslink (the op and kernel
    registrations are static initializers nothing else refers to). Also
    defines `name + "_build_info"`, the _build_info.json that op_build.py
    writes next to the library (TensorFlow version, CUDA or not), which the
    package checks at load time. Must be called from the root package: the
    source paths are sources.py's, relative to the workspace root.
    """
    hdrs = native.glob(["cc/**/*.h"])
    tf = "@local_config_tf//:tensorflow"
    deps = []

    for src, flags in x86_sources.items():
        lib = name + "_" + src.split("/")[-1].replace(".", "_")
        native.cc_library(
            name = lib,
            srcs = [src],
            hdrs = hdrs,
            copts = OP_COPTS + select({
                "//:x86_64": flags,
                "//conditions:default": [],
            }),
            deps = [tf],
            alwayslink = True,
            linkstatic = True,
        )
        deps.append(":" + lib)

    present = native.glob(gpu_tf_sources + cuda_sources)
    use_cuda = CUDA_ENABLED and len(present) == len(gpu_tf_sources + cuda_sources)
    if use_cuda:
        objects = []
        for src in cuda_sources:
            objects.append(_nvcc_object(
                name = name + "_" + src.split("/")[-1].replace(".", "_"),
                src = src,
                hdrs = hdrs,
            ))
        native.cc_library(
            name = name + "_gpu",
            srcs = gpu_tf_sources + objects,
            hdrs = hdrs,
            copts = OP_COPTS,
            local_defines = ["GOOGLE_CUDA=1"],
            deps = [tf, "@local_config_op_build//:cudart"],
            alwayslink = True,
            linkstatic = True,
        )
        deps.append(":" + name + "_gpu")

    # The XLA lowering (cc/xla/), where this TensorFlow ships libtensorflow_cc
    # and the headers it needs (XLA_REQUIRED_HEADERS):
    # XLA's headers include highwayhash and farmhash from folders under TF's
    # include tree (XLA_INCLUDE_SUBDIRS).
    if xla_sources and TF_CC_PRESENT and XLA_HEADERS_PRESENT:
        native.cc_library(
            name = name + "_xla",
            srcs = xla_sources + (XLA_CUDA_SOURCES if use_cuda else []),
            hdrs = hdrs,
            copts = OP_COPTS + ["-isystem external/local_config_tf/include/" + d
                                for d in XLA_INCLUDE_SUBDIRS],
            deps = [tf, "@local_config_tf//:tensorflow_cc"],
            alwayslink = True,
            linkstatic = True,
        )
        deps.append(":" + name + "_xla")

    native.genrule(
        name = name + "_build_info",
        outs = [name + "_build_info.json"],
        # The keys of sources.build_info(), in its order (the machine is
        # asked at build time).
        cmd = "\n".join([
            "cat > $@ <<EOF",
            "{",
            ",\n".join(['  "%s": %s' % (key, {
                "tensorflow_version": '"%s"' % TF_VERSION,
                "cuda": "true" if use_cuda else "false",
                "cuda_archs": json.encode(CUDA_ARCHS) if use_cuda else "[]",
                "machine": '"$$(uname -m)"',
                "build": '"bazel"',
                "x86_emulation": "false",
            }[key]) for key in BUILD_INFO_KEYS]),
            "}",
            "EOF",
        ]),
        visibility = ["//visibility:public"],
    )

    native.cc_library(
        name = name,
        srcs = tf_sources + plain_sources,
        hdrs = hdrs,
        copts = OP_COPTS,
        deps = [tf] + deps,
        alwayslink = True,
        linkstatic = True,
        visibility = ["//visibility:public"],
    )
