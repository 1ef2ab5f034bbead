"""The include rules of docs/DESIGN.md, section 9, checked on the sources.

The CPU engine (cc/kernels/cpu/) and the CUDA kernel with its launcher
(cc/kernels/gpu/, all but gpu_kernel.cc) must build without TensorFlow: the
TF-free testers compile them alone, and the CUDA translation unit must compile
with any nvcc. Only the TF side may include TensorFlow or Eigen headers.
"""
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.MULTILINE)
_TF_HEADERS = ("tensorflow/", "third_party/", "unsupported/Eigen", "Eigen/", "absl/", "xla/")
# The TF side: these files register the op and its kernels.
_TF_SIDE = {"cc/kernels/gpu/gpu_kernel.cc"}


def _sources(folder):
    base = os.path.join(ROOT, folder)
    for name in sorted(os.listdir(base)):
        if name.endswith((".h", ".cc")):
            rel = f"{folder}/{name}"
            if rel not in _TF_SIDE:
                yield rel


@pytest.mark.parametrize("path", list(_sources("cc/kernels/cpu")) +
                         list(_sources("cc/kernels/gpu")) +
                         ["cc/kernels/conv_params.h", "cc/kernels/axis_window.h",
                          "cc/kernels/phase_plan.h", "cc/kernels/cpu_backprop_input.h",
                          # What both halves of the XLA lowering share.
                          "cc/xla/custom_call_contract.h"])
def test_engine_sources_include_no_tensorflow(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
        includes = _INCLUDE.findall(handle.read())
    offending = [inc for inc in includes if inc.startswith(_TF_HEADERS)]
    assert not offending, f"{path} includes TensorFlow-side headers: {offending}"


def test_the_rule_sees_tensorflow_includes():
    # The TF side does include them: the pattern must find them there.
    with open(os.path.join(ROOT, "cc/kernels/cpu_kernel.cc"), encoding="utf-8") as handle:
        includes = _INCLUDE.findall(handle.read())
    assert any(inc.startswith(_TF_HEADERS) for inc in includes)
