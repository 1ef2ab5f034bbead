"""Concurrency and determinism: many callers at once, any thread count.

Each dx element has one owner and is written once (docs/DESIGN.md section 1), so
results must be bit-identical whether the op runs serially, from 8 Python
threads at once, as parallel nodes of one graph, or with 1 or 2 intra-op
threads. Data are random non-integers, so that any change in summation order
would show.
"""
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
import tensorflow as tf

import tf_custom_op
from support.cases import Case
from support.processes import child_env

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Forward convolutions big enough that TF's work sharder splits them over
# threads.
CONFIGS = [
    Case.forward([4, 28, 28, 32], [3, 3, 32, 48], (1, 1), "SAME"),
    Case.forward([2, 31, 29, 24], [4, 4, 24, 16], (2, 2), "VALID"),
    Case.forward([2, 20, 20, 16], [3, 3, 8, 32], (1, 1), "SAME", dilations=(2, 2)),
    Case.forward([2, 18, 18, 16], [3, 3, 16, 20], (2, 2), ((1, 1), (0, 1)), data_format="NCHW"),
    Case.forward([3, 24, 24, 16], [5, 5, 16, 16], (2, 2), "SAME", dtype="float16"),
    Case.forward([2, 24, 24, 16], [3, 3, 16, 24], (3, 3), "SAME", dtype="float64"),
    Case.forward([2, 24, 24, 16], [3, 3, 16, 24], (1, 1), "VALID", dtype="bfloat16"),
]


def make_inputs(index, case):
    rng = np.random.default_rng(100 + index)
    np_dtype = tf.as_dtype(case.dtype).as_numpy_dtype
    w = rng.standard_normal(case.filter_shape()).astype(np_dtype)
    dy = rng.standard_normal(case.dy_shape()).astype(np_dtype)
    return np.array(case.input_sizes(), np.int32), w, dy


def call(index, case, inputs=None):
    sizes, w, dy = inputs if inputs is not None else make_inputs(index, case)
    return tf_custom_op.conv2d_backprop_input(sizes, w, dy, case.strides(), case.padding_arg(),
                                              data_format=case.data_format,
                                              dilations=case.dilations())


def bits(array):
    array = np.ascontiguousarray(array)
    return array.view(np.uint8)


def assert_bit_identical(actual, expected, what):
    assert actual.shape == expected.shape and actual.dtype == expected.dtype, what
    assert np.array_equal(bits(actual), bits(expected)), f"{what}: results differ"


@pytest.fixture(scope="module")
def inputs():
    return [make_inputs(i, c) for i, c in enumerate(CONFIGS)]


@pytest.fixture(scope="module")
def serial(inputs):
    return [call(i, c, inputs[i]).numpy() for i, c in enumerate(CONFIGS)]


def test_serial_runs_are_deterministic(inputs, serial):
    for i, config in enumerate(CONFIGS):
        assert_bit_identical(call(i, config, inputs[i]).numpy(), serial[i], f"config {i}")


def test_eight_python_threads(inputs, serial):
    threads = 8
    rounds = 2
    barrier = threading.Barrier(threads)
    results = [[] for _ in range(threads)]
    errors = []

    def worker(t):
        try:
            order = np.random.default_rng(t).permutation(len(CONFIGS))
            barrier.wait()
            for _ in range(rounds):
                for i in order:
                    results[t].append((int(i), call(int(i), CONFIGS[i], inputs[i]).numpy()))
        except Exception as err:  # noqa: BLE001  (reported below)
            errors.append(err)
            barrier.abort()

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=600)
    assert not any(thread.is_alive() for thread in pool), "a thread hung"
    assert not errors, errors
    for t in range(threads):
        assert len(results[t]) == rounds * len(CONFIGS)
        for i, result in results[t]:
            assert_bit_identical(result, serial[i], f"thread {t}, config {i}")


def test_inter_op_parallel_graph(inputs, serial):
    """Independent nodes of one graph, run by several inter-op threads at once."""
    graph = tf.Graph()
    fetches = []
    with graph.as_default():
        for copy in range(3):
            for i, config in enumerate(CONFIGS):
                sizes, w, dy = inputs[i]
                fetches.append((i, call(i, config, (tf.constant(sizes), tf.constant(w),
                                                    tf.constant(dy)))))
    session_config = tf.compat.v1.ConfigProto(inter_op_parallelism_threads=4,
                                              intra_op_parallelism_threads=2)
    # No constant folding: the op must run in the session, in parallel.
    session_config.graph_options.rewrite_options.constant_folding = (
        session_config.graph_options.rewrite_options.OFF)
    with tf.compat.v1.Session(graph=graph, config=session_config) as session:
        for _ in range(2):
            values = session.run([f for _, f in fetches])
            for (i, _), value in zip(fetches, values):
                assert_bit_identical(value, serial[i], f"graph node for config {i}")


_THREADS_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import tensorflow as tf
    # Before TensorFlow creates its thread pools, i.e. before any op runs.
    tf.config.threading.set_intra_op_parallelism_threads(int(sys.argv[1]))
    tf.config.threading.set_inter_op_parallelism_threads(1)
    sys.path.insert(0, sys.argv[3])
    import test_concurrency as tc
    assert tf.config.threading.get_intra_op_parallelism_threads() == int(sys.argv[1])
    # Raw bytes: npz cannot hold bfloat16.
    np.savez(sys.argv[2], *[tc.bits(tc.call(i, c).numpy()) for i, c in enumerate(tc.CONFIGS)])
""")


@pytest.mark.parametrize("counts", [(1, 2)])
def test_intra_op_thread_counts_identical(tmp_path, serial, counts):
    """Fresh processes (thread settings only apply before TF initialises)."""
    outputs = {}
    env = child_env()
    for n in counts:
        path = tmp_path / f"intra{n}.npz"
        subprocess.run([sys.executable, "-c", _THREADS_SCRIPT, str(n), str(path),
                        os.path.dirname(os.path.abspath(__file__))],
                       check=True, env=env, cwd=ROOT, timeout=600)
        with np.load(path) as data:
            outputs[n] = [data[f"arr_{i}"] for i in range(len(CONFIGS))]
    for i in range(len(CONFIGS)):
        assert np.array_equal(outputs[counts[0]][i], outputs[counts[1]][i]), (
            f"config {i}: {counts[0]} vs {counts[1]} intra-op threads differ")
        # And the same as this process (default thread count).
        assert np.array_equal(outputs[counts[1]][i], bits(serial[i])), (
            f"config {i}: {counts[1]} threads vs this process differ")
