"""The op library built by setup.py (op_build.py) and the one built by Bazel
pass the same smoke check and give the same results.

Each library is loaded in a subprocess of its own (build_tools/smoke_check.py):
two libraries registering the same op cannot share a process. The Bazel
library is $TF_CUSTOM_OP_BAZEL_LIBRARY, else bazel-bin/tf_custom_op/... with
TF_CUSTOM_OP_REQUIRE_BAZEL=1 (`make build-smoke`, after `make bazel`); without
either the comparison is skipped, as a bazel-bin left from an older checkout
would be stale.
"""
import json
import os
import subprocess
import sys

import pytest

import tf_custom_op

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from build_tools import sources  # noqa: E402
SMOKE = os.path.join(ROOT, "build_tools", "smoke_check.py")


def _setup_library():
    return tf_custom_op.library_path()


def _require_bazel():
    return os.environ.get("TF_CUSTOM_OP_REQUIRE_BAZEL") == "1"


def _bazel_library():
    return os.environ.get("TF_CUSTOM_OP_BAZEL_LIBRARY") or os.path.join(
        ROOT, "bazel-bin", "tf_custom_op", "_conv2d_backprop_input_op.so")


def _smoke(library, tmp_path, tag):
    out = tmp_path / f"{tag}.json"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("TF_CUSTOM_OP_LIBRARY", None)
    proc = subprocess.run([sys.executable, SMOKE, "--library", library, "--json", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"smoke check of {library} failed:\n{proc.stdout}\n{proc.stderr}"
    summary = json.loads(out.read_text())
    assert os.path.realpath(summary["library"]) == os.path.realpath(library)
    assert summary["passed"]
    return summary


@pytest.fixture(scope="module")
def setup_summary(tmp_path_factory):
    return _smoke(_setup_library(), tmp_path_factory.mktemp("smoke"), "setup")


def test_setup_library_smoke(setup_summary):
    assert setup_summary["op"] == tf_custom_op.OP_NAME


def test_bazel_library_matches_setup_library(setup_summary, tmp_path):
    if not (_require_bazel() or os.environ.get("TF_CUSTOM_OP_BAZEL_LIBRARY")):
        pytest.skip("Bazel library not compared: `make bazel build-smoke` does")
    library = _bazel_library()
    if not os.path.exists(library):
        pytest.fail(f"the Bazel-built library {library} does not exist: run `make bazel`")
    bazel = _smoke(library, tmp_path, "bazel")
    assert bazel["build_info"].get("build") == "bazel"
    assert setup_summary["build_info"].get("build") == "op_build"
    # Both builds write the keys of build_tools/sources.py's build_info().
    assert sorted(bazel["build_info"]) == sorted(sources.BUILD_INFO_KEYS)
    assert sorted(setup_summary["build_info"]) == sorted(sources.BUILD_INFO_KEYS)
    for key in ("tensorflow_version", "machine", "cuda", "cuda_archs", "x86_emulation"):
        assert bazel["build_info"].get(key) == setup_summary["build_info"].get(key), key
    assert bazel["kernels"] == setup_summary["kernels"]
    assert bazel["xla_lowering"] == setup_summary["xla_lowering"]
    assert bazel["cases"].keys() == setup_summary["cases"].keys()
    for name, case in setup_summary["cases"].items():
        other = bazel["cases"][name]
        assert other["shape"] == case["shape"], name
        # Same sources and flags: the results agree (in practice bit for bit).
        assert other["sum"] == pytest.approx(case["sum"], rel=1e-5, abs=1e-5), name
