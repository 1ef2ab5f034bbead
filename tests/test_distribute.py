"""tf.distribute: a training step that uses the custom op (forward and, through
the patch, tf.nn.conv2d's input gradient) gives the same weights under
MirroredStrategy over 2 logical CPU devices and under
MultiWorkerMirroredStrategy with 2 worker processes on 127.0.0.1 as on one
device. Each run is a fresh process (tests/_distribute_job.py)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from support.processes import child_env, run_workers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JOB = os.path.join(ROOT, "tests", "_distribute_job.py")
TIMEOUT = 240


def _result(stdout):
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    assert lines, stdout
    return json.loads(lines[-1])


def _run(mode):
    proc = subprocess.run([sys.executable, JOB, mode], env=child_env(), capture_output=True,
                          text=True, timeout=TIMEOUT, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return _result(proc.stdout)


@pytest.fixture(scope="module")
def mirrored():
    return _run("mirrored")


@pytest.fixture(scope="module")
def single(mirrored):
    return mirrored["single"]


def _assert_same(got, ref):
    assert got["custom_ops_built"] >= 2  # transpose forward + conv2d input gradient
    np.testing.assert_allclose(got["losses"], ref["losses"], rtol=1e-5)
    for key in ("w1", "w2"):
        np.testing.assert_allclose(got[key], ref[key], rtol=1e-5, atol=1e-6)


def test_mirrored_strategy_two_logical_cpus(mirrored, single):
    got = mirrored["result"]
    assert got["replicas"] == 2 and single["replicas"] == 1
    _assert_same(got, single)


def test_multi_worker_mirrored_strategy_two_processes(single):
    workers = run_workers([JOB, "multiworker"], timeout=TIMEOUT)
    for returncode, out, err in workers:
        assert returncode == 0, out + err
    results = [_result(out)["result"] for _, out, _ in workers]
    for got in results:
        assert got["replicas"] == 2
        _assert_same(got, single)
