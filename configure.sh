#!/usr/bin/env bash
# Non-interactive configuration: asks the Python environment's TensorFlow for
# its compile and link flags and writes what the builds need:
#   .tf_config.mk        read by setup.py and the Makefile (KEY=VALUE lines)
#   .bazelrc.configure   read by Bazel (.bazelrc imports it)
# Usage: ./configure.sh [python]   (default: $PYTHON, else .venv/bin/python, else python3)
set -euo pipefail
cd "$(dirname "$0")"

PYTHON_BIN="${1:-${PYTHON:-}}"
if [[ -z "$PYTHON_BIN" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON_BIN=.venv/bin/python; else PYTHON_BIN=python3; fi
fi

read_tf() {
  "$PYTHON_BIN" - "$1" <<'PY'
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf
what = sys.argv[1]
if what == "version":
    print(tf.__version__)
elif what == "cflags":
    print(" ".join(tf.sysconfig.get_compile_flags()))
elif what == "lflags":
    print(" ".join(tf.sysconfig.get_link_flags()))
elif what == "include":
    print(tf.sysconfig.get_include())
elif what == "lib":
    print(tf.sysconfig.get_lib())
elif what == "python":
    print(sys.executable)
PY
}

TF_VERSION=$(read_tf version)
TF_CFLAGS=$(read_tf cflags)
TF_LFLAGS=$(read_tf lflags)
TF_INCLUDE=$(read_tf include)
TF_LIB=$(read_tf lib)
# Absolute path of the interpreter (a venv's python is not resolved to the
# system one): Bazel's tests run with it.
PYTHON_ABS=$(read_tf python)

# CUDA: the GPU kernel is built when nvcc is found (CUDA_HOME, PATH, or the
# default toolkit location); otherwise the build is CPU-only.
NVCC="${NVCC:-}"
if [[ -z "$NVCC" ]]; then
  for candidate in "${CUDA_HOME:-}/bin/nvcc" /usr/local/cuda/bin/nvcc "$(command -v nvcc || true)"; do
    if [[ -n "$candidate" && -x "$candidate" ]]; then NVCC="$candidate"; break; fi
  done
fi
if [[ "${TF_CUSTOM_OP_CPU_ONLY:-0}" == "1" ]]; then NVCC=""; fi
CUDA_HOME_DETECTED=""
if [[ -n "$NVCC" ]]; then CUDA_HOME_DETECTED=$(cd "$(dirname "$NVCC")/.." && pwd); fi

cat > .tf_config.mk <<CFG
TF_VERSION=$TF_VERSION
TF_CFLAGS=$TF_CFLAGS
TF_LFLAGS=$TF_LFLAGS
TF_INCLUDE=$TF_INCLUDE
TF_LIB=$TF_LIB
NVCC=$NVCC
CUDA_HOME=$CUDA_HOME_DETECTED
CFG

# Read by build_defs/local_config.bzl (values with spaces are quoted).
cat > .bazelrc.configure <<CFG
# Written by configure.sh: do not edit (re-run ./configure.sh instead).
build --repo_env=TF_VERSION=$TF_VERSION
build --repo_env=TF_INCLUDE_DIR=$TF_INCLUDE
build --repo_env=TF_LIB_DIR=$TF_LIB
build "--repo_env=TF_CFLAGS=$TF_CFLAGS"
build "--repo_env=TF_LFLAGS=$TF_LFLAGS"
build --repo_env=PYTHON_BIN_PATH=$PYTHON_ABS
build --repo_env=TF_CUSTOM_OP_NVCC=$NVCC
build --repo_env=TF_CUSTOM_OP_CUDA_HOME=$CUDA_HOME_DETECTED
build --action_env=TF_CUSTOM_OP_CUDA_HOME=$CUDA_HOME_DETECTED
CFG

echo "configure.sh: TensorFlow $TF_VERSION ($TF_LIB)"
if [[ -n "$NVCC" ]]; then
  echo "configure.sh: CUDA build enabled with $NVCC"
else
  echo "configure.sh: nvcc not found: CPU-only build"
fi
