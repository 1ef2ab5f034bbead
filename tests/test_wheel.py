"""Packaging: `pip wheel --no-build-isolation .` builds a platform wheel with
the op library inside; it installs into a fresh venv that has TensorFlow and
passes a smoke test; the TensorFlow version it was built for is recorded and
checked at load.

Bounded for CI: the build runs in a copy of the source tree with the CUDA
kernel off (TF_CUSTOM_OP_CPU_ONLY=1), and the fresh venv sees the running
environment's TensorFlow through a .pth file instead of installing it again
(set TF_CUSTOM_OP_WHEEL_TEST_FULL=1 to `pip install` TensorFlow into the
fresh venv from the configured index instead).
"""
import importlib.metadata
import json
import os
import shutil
import site
import subprocess
import sys
import textwrap
import zipfile

import pytest
import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD_TIMEOUT = 900
LIB = "tf_custom_op/_conv2d_backprop_input_op.so"

# Not part of a source checkout (build outputs, environments, caches).
_IGNORED = {".git", ".venv", "build", "dist", "__pycache__", ".pytest_cache", ".hypothesis",
            "bench_results", "_build_info.json"}


def _ignore(_, names):
    return [n for n in names
            if n in _IGNORED or n.startswith("bazel-") or n.endswith((".so", ".o", ".whl"))
            or n.endswith(".egg-info")]


def _tf_distribution():
    for name in ("tensorflow-cpu", "tensorflow", "tensorflow-intel"):
        try:
            return name, importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "tensorflow-cpu", tf.__version__


def _run(cmd, timeout, **kwargs):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    shutil.copytree(ROOT, src, symlinks=True, ignore=_ignore)
    env = dict(os.environ, TF_CUSTOM_OP_CPU_ONLY="1", TF_CPP_MIN_LOG_LEVEL="2")
    dist = base / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps",
          "-w", str(dist), str(src)], BUILD_TIMEOUT, env=env, cwd=str(base))
    wheels = list(dist.glob("tf_custom_op-*.whl"))
    assert len(wheels) == 1, wheels
    return base, wheels[0]


def test_wheel_is_a_platform_wheel_with_the_library(wheel):
    _, path = wheel
    # e.g. tf_custom_op-0.1.0-cp311-cp311-linux_x86_64.whl: not py3-none-any
    tags = path.name[:-len(".whl")].split("-")[-3:]
    assert tags[0].startswith("cp") and tags[2] != "any", path.name
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        assert LIB in names
        info = json.loads(zf.read("tf_custom_op/_build_info.json"))
        metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert info["tensorflow_version"] == tf.__version__
    assert info["cuda"] is False
    # No dependency on a TensorFlow distribution (CPU and GPU wheels differ).
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert not any("tensorflow" in line for line in requires), requires
    assert not any(n.startswith("tests/") for n in names)


SMOKE = """
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np
import tensorflow as tf
import tf_custom_op
assert tf_custom_op.__file__.startswith(sys.prefix), (tf_custom_op.__file__, sys.prefix)
assert tf_custom_op.library_path().startswith(sys.prefix)
rng = np.random.default_rng(0)
w = tf.constant(rng.standard_normal((3, 3, 4, 5)), tf.float32)
dy = tf.constant(rng.standard_normal((2, 4, 4, 5)), tf.float32)
ours = tf_custom_op.conv2d_backprop_input([2, 8, 8, 4], w, dy, [1, 2, 2, 1], "SAME")
ref = tf.compat.v1.nn.conv2d_backprop_input([2, 8, 8, 4], w, dy, [1, 2, 2, 1], "SAME")
np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-5, atol=1e-4)
with tf_custom_op.patched():
    t = tf.nn.conv2d_transpose(dy, w, [2, 8, 8, 4], 2, "SAME")
np.testing.assert_allclose(t.numpy(), ref.numpy(), rtol=1e-5, atol=1e-4)
print(json.dumps({"file": tf_custom_op.__file__, "build_info": tf_custom_op.build_info()}))
"""

MISMATCH = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import tf_custom_op  # the import itself never fails
try:
    tf_custom_op.op_module()
except tf_custom_op.OpLibraryError as err:
    print("OpLibraryError:", err)
    sys.exit(0)
sys.exit("no error for a library built for another TensorFlow")
"""


@pytest.fixture(scope="module")
def venv(wheel):
    base, path = wheel
    venv_dir = base / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv_dir)], 120)
    python = venv_dir / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    if os.environ.get("TF_CUSTOM_OP_WHEEL_TEST_FULL") == "1":
        name, version = _tf_distribution()
        _run(pip + ["install", f"{name}=={version}", str(path)], BUILD_TIMEOUT)
    else:
        # The fresh venv sees this environment's TensorFlow (and numpy)
        # after its own site-packages: what it installs itself wins.
        purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                       60).stdout.strip()
        with open(os.path.join(purelib, "_outer_environment.pth"), "w") as f:
            f.write("\n".join(site.getsitepackages()) + "\n")
        _run(pip + ["install", "--no-index", str(path)], 300)
    return python


def _clean_env():
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "TF_CUSTOM_OP_LIBRARY", "VIRTUAL_ENV")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


def test_installed_wheel_passes_smoke_test(venv, tmp_path):
    proc = _run([str(venv), "-c", textwrap.dedent(SMOKE)], 300, env=_clean_env(), cwd=str(tmp_path))
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["build_info"]["tensorflow_version"] == tf.__version__


def test_installed_wheel_checks_tensorflow_version(venv, tmp_path):
    purelib = _run([str(venv), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                   60).stdout.strip()
    info_path = os.path.join(purelib, "tf_custom_op", "_build_info.json")
    with open(info_path) as f:
        original = f.read()
    info = json.loads(original)
    info["tensorflow_version"] = "2.0.0"
    try:
        with open(info_path, "w") as f:
            json.dump(info, f)
        proc = _run([str(venv), "-c", textwrap.dedent(MISMATCH)], 300, env=_clean_env(),
                    cwd=str(tmp_path))
    finally:
        with open(info_path, "w") as f:
            f.write(original)
    assert "built for TensorFlow 2.0.0" in proc.stdout
    assert tf.__version__ in proc.stdout


def test_installed_wheel_runs_the_main_job_outside_the_repository(venv, tmp_path):
    """`python -m tf_custom_op` (the main job: checks against TF's op, then the
    short benchmark) from an installed wheel, in a directory with no checkout
    beside it: the layer suite must come from the package itself."""
    assert not (tmp_path / "shared").exists() and not (tmp_path.parent / "shared").exists()
    proc = _run([str(venv), "-m", "tf_custom_op"], 900, env=_clean_env(), cwd=str(tmp_path))
    assert "all checks match TF's built-in op" in proc.stdout, proc.stdout[-4000:]
    assert "geomean" in proc.stdout, proc.stdout[-4000:]
    results = list((tmp_path / "bench_results").glob("*.json"))
    assert results, "the benchmark wrote no results"


def test_wheel_ships_the_layer_suite(wheel):
    _, path = wheel
    with zipfile.ZipFile(path) as zf:
        spec = json.loads(zf.read("tf_custom_op/benchmark/layers.json"))
        corpus = json.loads(zf.read("tf_custom_op/benchmark/corpus.json"))
    assert {"vgg3x3_c256", "small_b1", "dil2"} <= {layer["name"] for layer in spec["layers"]}
    assert {"dcgan64_g2", "pix2pix_d_512", "resnext_g32_c256"} <= \
        {layer["name"] for layer in corpus["layers"]}
