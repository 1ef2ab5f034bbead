"""Malformed inputs from docs/CONTRACT.md sections 1, 3, 4 and 7.

SAFE cases require the same exception class as TF's built-in (eagerly and
inside tf.function), and the reason each case names (support/error_cases.py)
in our message and TF's: the class alone cannot tell which check fired. TF's
side runs in the oracle's child process with oneDNN off (support/tf_oracle.py):
the contract is what TF's reference (Eigen) kernel raises, on every CPU,
whichever kernel this process's TF would pick. DANGEROUS cases (those that
crash TF 2.21, or could crash ours) run only our op, in a subprocess, so that
a crash fails the test instead of killing pytest; where TF's reference kernel
survives one, its message is checked for the same reason through the oracle.
Each case breaks one rule; its repaired variant (`fixed`) must succeed.
"""

import numpy as np
import pytest
import tensorflow as tf

import tf_custom_op
from support.error_cases import (DANGEROUS, FIXED, RAW, SAFE, SHAPE_FN, check_dangerous_outcome,
                                 check_reason, namespace, outcome, reasons)
from support.processes import run_cases_in_subprocess
from support.tf_oracle import EIGEN

OURS = tf_custom_op.conv2d_backprop_input
TF = tf.compat.v1.nn.conv2d_backprop_input


def _raw_op():
    return tf_custom_op.op_module().tf_custom_op_conv2d_backprop_input


def _check_same_error(name, ours, theirs, reason):
    assert "exc" in theirs, f"TF accepted {name}: the case list is wrong ({theirs})"
    assert ours.get("exc") == theirs["exc"], (
        f"{name}: ours {ours}, TF raised {theirs['exc']}: {theirs['msg']}")
    expected = reasons(reason)
    check_reason(ours["msg"], expected.ours, "our", name)
    check_reason(theirs["msg"], expected.tf, "TF's", name)


@pytest.mark.parametrize("name", sorted(SAFE))
def test_same_error_as_tf_eager(name):
    theirs = EIGEN.outcome("SAFE", name)
    ours = outcome(SAFE[name].call, namespace(OURS))
    _check_same_error(name, ours, theirs, SAFE[name].reason)
    if theirs["exc"] == "ValueError" and "padding" in theirs["msg"]:
        assert ours["msg"] == theirs["msg"]


def _function_reason(case):
    return case.reason if case.in_function is True else case.in_function


# Inside tf.function the static checks become trace-time errors for both ops
# (op signature, shape function), the others run-time errors of the same class.
@pytest.mark.parametrize("name", sorted(n for n, c in SAFE.items() if c.in_function is not False))
def test_same_error_as_tf_in_function(name):
    theirs = EIGEN.outcome("SAFE", name, in_function=True)
    ours = outcome(SAFE[name].call, namespace(OURS), in_function=True)
    _check_same_error(name, ours, theirs, _function_reason(SAFE[name]))


@pytest.fixture(scope="module")
def dangerous_results():
    return run_cases_in_subprocess(sorted(NON_ADVISORY))


# The advisories (names advisory_*) are tested in test_tf_cases.py.
NON_ADVISORY = [n for n in DANGEROUS if not n.startswith("advisory_")]


@pytest.mark.parametrize("name", sorted(NON_ADVISORY))
def test_dangerous_input_raises_or_zeros(name, dangerous_results):
    check_dangerous_outcome(name, dangerous_results[name])


# DANGEROUS cases TF's reference kernel survives (those with a TF reason):
# the same class and reason from TF's op, through the oracle.
@pytest.mark.parametrize("name", sorted(
    n for n, c in DANGEROUS.items() if c.reason is not None and reasons(c.reason).tf is not None))
def test_dangerous_reason_worded_like_tf(name):
    case = DANGEROUS[name]
    theirs = EIGEN.outcome("DANGEROUS", name)
    assert theirs.get("exc") == case.expected, (name, theirs)
    check_reason(theirs["msg"], reasons(case.reason).tf, "TF's", name)


# Each case breaks one rule: with the offending value repaired, the call
# succeeds (for TF's kernel too where it supports the configuration), so the
# other inputs are consistent and the case's reason is the only check that
# can stop it.
@pytest.mark.parametrize("name", sorted(FIXED))
def test_repaired_case_succeeds(name):
    case = FIXED[name]
    ours = outcome(case.fixed, namespace(OURS, _raw_op()))
    assert "shape" in ours, f"{name}: the repaired call fails for our op: {ours}"
    if case.fixed_tf:
        theirs = EIGEN.outcome("FIXED", name)
        assert "shape" in theirs, f"{name}: the repaired call fails for TF's op: {theirs}"
        assert ours["shape"] == theirs["shape"]


def test_spatial_mismatch_message_states_sizes():
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"actual = 4, computed = 3.*stride: 1.*dilation: 1"):
        OURS([1, 5, 4, 2], tf.ones([3, 3, 2, 3]), tf.ones([1, 4, 4, 3]), [1, 1, 1, 1], "VALID")


# Section 3.2 attribute combinations that the Python wrapper cannot produce:
# through the raw ops, same class and reason as TF's raw op.
@pytest.mark.parametrize("in_function", [False, True], ids=["eager", "function"])
@pytest.mark.parametrize("name", sorted(RAW))
def test_raw_op_attribute_errors(name, in_function):
    theirs = EIGEN.outcome("RAW", name, in_function=in_function)
    ours = outcome(RAW[name].call, namespace(OURS, _raw_op()), in_function=in_function)
    reason = _function_reason(RAW[name]) if in_function else RAW[name].reason
    _check_same_error(name, ours, theirs, reason)


# Section 4: the shape function's trace-time checks (graph mode).
@pytest.mark.parametrize("name", sorted(SHAPE_FN))
def test_shape_function_errors_match_tf(name):
    sizes, w_shape, dy_shape, reason = SHAPE_FN[name]

    def build(op):
        graph = tf.Graph()
        with graph.as_default():
            w = tf.compat.v1.placeholder(tf.float32, w_shape)
            dy = tf.compat.v1.placeholder(tf.float32, dy_shape)
            try:
                op(tf.constant(sizes, tf.int32), w, dy, [1, 1, 1, 1], "SAME")
            except Exception as err:  # pylint: disable=broad-except
                return {"exc": type(err).__name__, "msg": str(err)}
        return {"shape": "built"}

    _check_same_error(name, build(OURS), build(TF), reason)


def test_shape_function_rejects_input_sizes_of_rank2_placeholder():
    graph = tf.Graph()
    with graph.as_default():
        sizes = tf.compat.v1.placeholder(tf.int32, [2, 2])
        w = tf.compat.v1.placeholder(tf.float32, [3, 3, 2, 3])
        dy = tf.compat.v1.placeholder(tf.float32, [1, 4, 4, 3])
        with pytest.raises(ValueError, match="Shape must be rank 1 but is rank 2"):
            TF(sizes, w, dy, [1, 1, 1, 1], "SAME")
        with pytest.raises(ValueError, match="Shape must be rank 1 but is rank 2"):
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
