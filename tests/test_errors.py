"""Malformed inputs from docs/CONTRACT.md sections 1, 3, 4 and 7.

SAFE cases require the same exception class as TF's built-in (eagerly and
inside tf.function). TF's side runs in the oracle's child process with oneDNN
off (support/tf_oracle.py): the contract is the class TF's reference (Eigen)
kernel raises, on every CPU, whichever kernel this process's TF would pick.
DANGEROUS cases (those that crash TF 2.21, or could crash ours) run only our op, in a subprocess, so that a
crash fails the test instead of killing pytest.
"""

import numpy as np
import pytest
import tensorflow as tf

import tf_custom_op
from support.error_cases import DANGEROUS, RAW, SAFE, check_dangerous_outcome, namespace, outcome
from support.processes import run_cases_in_subprocess
from support.tf_oracle import EIGEN

OURS = tf_custom_op.conv2d_backprop_input
TF = tf.compat.v1.nn.conv2d_backprop_input


@pytest.mark.parametrize("name", sorted(SAFE))
def test_same_error_as_tf_eager(name):
    theirs = EIGEN.outcome("SAFE", name)
    ours = outcome(SAFE[name], namespace(OURS))
    assert "exc" in theirs, f"TF accepted {name}: the case list is wrong ({theirs})"
    assert ours.get("exc") == theirs["exc"], (
        f"{name}: ours {ours}, TF raised {theirs['exc']}: {theirs['msg']}")
    if theirs["exc"] == "ValueError" and "padding" in theirs["msg"]:
        assert ours["msg"] == theirs["msg"]


# Inside tf.function the static checks become trace-time ValueErrors for both
# ops (shape function), the others run-time errors of the same class.
_NOT_IN_FUNCTION = {
    "no_filter", "both_filter_and_filters",  # pure Python, identical in graphs
    # Zero strides inside tf.function crash TF's op (docs/CONTRACT.md section 7).
    "strides_zero", "strides_negative",
}


@pytest.mark.parametrize("name", sorted(set(SAFE) - _NOT_IN_FUNCTION))
def test_same_error_as_tf_in_function(name):
    theirs = EIGEN.outcome("SAFE", name, in_function=True)
    ours = outcome(SAFE[name], namespace(OURS), in_function=True)
    assert "exc" in theirs, f"TF accepted {name} in a function ({theirs})"
    assert ours.get("exc") == theirs["exc"], (
        f"{name}: ours {ours}, TF raised {theirs['exc']}: {theirs['msg']}")


@pytest.fixture(scope="module")
def dangerous_results():
    return run_cases_in_subprocess(sorted(NON_ADVISORY))


# The advisories (names advisory_*) are tested in test_tf_cases.py.
NON_ADVISORY = [n for n in DANGEROUS if not n.startswith("advisory_")]


@pytest.mark.parametrize("name", sorted(NON_ADVISORY))
def test_dangerous_input_raises_or_zeros(name, dangerous_results):
    check_dangerous_outcome(name, dangerous_results[name])


def test_spatial_mismatch_message_states_sizes():
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"actual = 4, computed = 3.*stride: 1.*dilation: 1"):
        OURS([1, 5, 4, 2], tf.ones([3, 3, 2, 3]), tf.ones([1, 4, 4, 3]), [1, 1, 1, 1], "VALID")


# Section 3.2 attribute combinations that the Python wrapper cannot produce:
# through the raw ops, same class as TF's raw op.
@pytest.mark.parametrize("name", sorted(RAW))
def test_raw_op_attribute_errors(name):
    theirs = EIGEN.outcome("RAW", name)
    ours = outcome(RAW[name], namespace(OURS, tf_custom_op.op_module().tf_custom_op_conv2d_backprop_input))
    assert "exc" in theirs, f"TF's raw op accepted {name} ({theirs})"
    assert ours.get("exc") == theirs["exc"], (name, ours, theirs)


# Section 4: the shape function's trace-time checks (graph mode).
SHAPE_FN_CASES = {
    "out_backprop_rank3": ([1, 4, 4, 2], [3, 3, 2, 3], [4, 4, 3]),
    "out_backprop_rank5": ([1, 4, 4, 2], [3, 3, 2, 3], [1, 1, 4, 4, 3]),
    "filter_rank3": ([1, 4, 4, 2], [3, 2, 3], [1, 4, 4, 3]),
    "filter_rank5": ([1, 4, 4, 2], [1, 3, 3, 2, 3], [1, 4, 4, 3]),
    "depth_vs_filter": ([1, 4, 4, 2], [3, 3, 2, 3], [1, 4, 4, 5]),
    "input_sizes_len3": ([1, 4, 4], [3, 3, 2, 3], [1, 4, 4, 3]),
    "input_sizes_len5": ([1, 4, 4, 2, 1], [3, 3, 2, 3], [1, 4, 4, 3]),
    "input_sizes_batch_vs_out_backprop": ([2, 4, 4, 2], [3, 3, 2, 3], [1, 4, 4, 3]),
}


@pytest.mark.parametrize("name", sorted(SHAPE_FN_CASES))
def test_shape_function_errors_match_tf(name):
    sizes, w_shape, dy_shape = SHAPE_FN_CASES[name]

    def build(op):
        graph = tf.Graph()
        with graph.as_default():
            w = tf.compat.v1.placeholder(tf.float32, w_shape)
            dy = tf.compat.v1.placeholder(tf.float32, dy_shape)
            try:
                op(tf.constant(sizes, tf.int32), w, dy, [1, 1, 1, 1], "SAME")
            except Exception as err:  # pylint: disable=broad-except
                return type(err).__name__
        return None

    theirs = build(TF)
    ours = build(OURS)
    assert ours == theirs, f"{name}: ours {ours}, TF {theirs}"


def test_shape_function_rejects_input_sizes_of_rank2_placeholder():
    graph = tf.Graph()
    with graph.as_default():
        sizes = tf.compat.v1.placeholder(tf.int32, [2, 2])
        w = tf.compat.v1.placeholder(tf.float32, [3, 3, 2, 3])
        dy = tf.compat.v1.placeholder(tf.float32, [1, 4, 4, 3])
        with pytest.raises(ValueError):
            TF(sizes, w, dy, [1, 1, 1, 1], "SAME")
        with pytest.raises(ValueError):
            OURS(sizes, w, dy, [1, 1, 1, 1], "SAME")


def test_no_error_for_valid_result_of_truncation():
    """VALID, n=1, k=4, s=2: out = (1 - 4 + 2) / 2 = 0 (C++ truncation), a
    valid all-zero result, not an error (docs/CONTRACT.md section 2)."""
    out = OURS([1, 1, 1, 2], tf.ones([4, 4, 2, 3]), tf.ones([1, 0, 0, 3]),
               [1, 2, 2, 1], "VALID")
    assert out.shape == (1, 1, 1, 2)
    np.testing.assert_array_equal(out.numpy(), 0)
    ref = TF([1, 1, 1, 2], tf.ones([4, 4, 2, 3]), tf.ones([1, 0, 0, 3]),
             [1, 2, 2, 1], "VALID")
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
