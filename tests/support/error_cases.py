"""Malformed inputs (docs/CONTRACT.md sections 1, 3, 4 and 7) as cases, each
with the reason its error must give.

Each case is a `Case`: `call`, a function called with the names of
`namespace()`: `OP` (our `conv2d_backprop_input` or TF's built-in), `RAW` (the
matching raw op), `w` (a [3, 3, 2, 3] float32 filter) and `dy` (a [1, 4, 4, 3]
out_backprop for input [1, 4, 4, 2] at stride 1, SAME); and `reason`, a regular
expression (re.search) that names the rule which must fire. A case breaks one
rule and keeps every other input consistent, so that if that one check were
missing the op would return a tensor: comparing the exception class alone
cannot tell the check that fired from a later one that raises the same class,
the reason can. Where a case can be repaired by fixing the offending value
alone, `fixed` is that repaired call, and a test checks that it succeeds (the
proof that the other inputs are consistent).

A reason given as a string is worded that way by our op and by TF's reference
(Eigen) kernel alike, and both are checked wherever TF's op can run the case
(the oracle's child process); `Reason(ours, tf)` gives two patterns where the
wordings differ, tf=None where TF's op cannot be run on the case (it crashes,
or refuses the input earlier, e.g. NCHW or dilation on CPU).

Cases are looked up by table and name, so a child process (the TF oracle, the
crash-safe runner) runs the same case from its name. Shared by test_errors.py,
test_tf_cases.py and their children.
"""
import json
import re
import sys
import typing

import numpy as np
import tensorflow as tf


class Reason(typing.NamedTuple):
    """Patterns our message and TF's must contain (tf=None: TF's not checked)."""
    ours: str
    tf: typing.Optional[str]


class Case(typing.NamedTuple):
    call: typing.Callable
    # str: our message and TF's both contain it; Reason: each its own; None:
    # the case does not raise (DANGEROUS fill cases).
    reason: object
    # DANGEROUS only: the exception class name, or ("fill", shape, value): a
    # result of that shape with every element == value.
    expected: object = None
    # SAFE and RAW: whether the case also runs inside tf.function (True: with
    # the same reason; a str or Reason: with that reason instead).
    in_function: object = True
    # The same call with the offending value repaired: must return a tensor.
    fixed: typing.Optional[typing.Callable] = None
    # Whether TF's CPU kernel accepts `fixed` (not with NCHW, dilation, groups).
    fixed_tf: bool = True


def reasons(spec):
    """Reason(ours, tf) of a reason spec (a str is both)."""
    return Reason(spec, spec) if isinstance(spec, str) else spec


def check_reason(message, pattern, who, name):
    """Asserts that `message` contains the regex `pattern` (None: no check)."""
    if pattern is None:
        return
    assert re.search(pattern, message, re.S), (
        f"{name}: {who} message does not give the reason {pattern!r}: {message!r}")


# Inputs every SAFE and RAW case otherwise shares: a [1, 4, 4, 2] input, the
# [3, 3, 2, 3] filter `w`, the [1, 4, 4, 3] `dy` (stride 1, SAME; or explicit
# (1, 1) on both spatial axes). The explicit-padding pairs for that geometry:
_PADS = [[0, 0], [1, 1], [1, 1], [0, 0]]
_FLAT_PADS = [0, 0, 1, 1, 1, 1, 0, 0]


def _ok(OP, w, dy, **_):
    """The consistent call every SAFE case breaks in one place."""
    return OP([1, 4, 4, 2], w, dy, [1, 1, 1, 1], 'SAME')


# Safe for TF's own op: ours runs in the pytest process, TF's in the oracle's
# child; both must raise the same exception class, with the reason. name -> Case.
SAFE = {
    # Section 1: Python wrapper (pure Python or the op's signature).
    "both_filter_and_filters": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], filter=w, filters=w, out_backprop=dy, strides=[1,1,1,1], padding='SAME'),
        "Cannot specify both 'filter' and 'filters'", in_function=False),
    "no_filter": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], out_backprop=dy, strides=[1,1,1,1], padding='SAME'),
        r"Attempt to convert a value \(None\) with an unsupported type", in_function=False),
    "padding_EXPLICIT_string": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'EXPLICIT'),
        r"'EXPLICIT' is not a valid value for `padding`"),
    "padding_list_not_pairs": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], _FLAT_PADS),
        r"each element of `padding` must be a list/tuple of size 2\. .* with element at index 0 of type"),
    "padding_3_pairs": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], _PADS[:3]),
        r"When padding is a list, it must be of size 4\. .* of size 3"),
    "padding_5_pairs": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], _PADS + [[0,0]]),
        r"When padding is a list, it must be of size 4\. .* of size 5"),
    "padding_triple": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], [[0,0],[1,1,0],[1,1],[0,0]]),
        r"each element of `padding` must be a list/tuple of size 2\. .* with element at index 1 of size 3"),
    "padding_None": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], None),
        "Expected string for argument 'padding' not None"),
    "padding_unknown_string": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'FULL'),
        r"Value for attr 'padding' of \"FULL\" is not in the list of allowed values",
        in_function=r"Attr 'padding' of '[^']*' Op passed string 'FULL' not in"),
    "strides_int": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, 1, 'SAME'),
        r"Expected list for 'strides' argument to '[^']*' Op, not 1\."),
    "strides_None": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, None, 'SAME'),
        r"Expected list for 'strides' argument to '[^']*' Op, not None\."),
    "dilations_int": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'SAME', dilations=1),
        r"Expected list for 'dilations' argument to '[^']*' Op, not 1\."),
    "input_sizes_int64_tensor": Case(
        lambda OP, w, dy, **_: OP(tf.constant([1,4,4,2], tf.int64), w, dy, [1,1,1,1], 'SAME'),
        r"input #0\(zero-based\) was expected to be a int32 tensor but is a int64 tensor",
        in_function=r"Input 'input_sizes' of '[^']*' Op has type int64 that does not match expected type of int32"),
    "input_sizes_float_tensor": Case(
        lambda OP, w, dy, **_: OP(tf.constant([1.,4,4,2]), w, dy, [1,1,1,1], 'SAME'),
        r"input #0\(zero-based\) was expected to be a int32 tensor but is a float tensor",
        in_function=r"Input 'input_sizes' of '[^']*' Op has type float32 that does not match expected type of int32"),
    "dtype_uint8": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], tf.cast(w,tf.uint8), tf.cast(dy,tf.uint8), [1,1,1,1], 'SAME'),
        r"Value for attr 'T' of uint8 is not in the list of allowed values",
        in_function=r"Value passed to parameter 'filter' has DataType uint8 not in list of allowed values"),
    "dtype_int64": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], tf.cast(w,tf.int64), tf.cast(dy,tf.int64), [1,1,1,1], 'SAME'),
        r"Value for attr 'T' of int64 is not in the list of allowed values",
        in_function=r"Value passed to parameter 'filter' has DataType int64 not in list of allowed values"),
    "dtype_complex64": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], tf.cast(w,tf.complex64), tf.cast(dy,tf.complex64), [1,1,1,1], 'SAME'),
        r"Value for attr 'T' of complex64 is not in the list of allowed values",
        in_function=r"Value passed to parameter 'filter' has DataType complex64 not in list of allowed values"),
    "dtype_mismatch": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, tf.cast(dy,tf.float64), [1,1,1,1], 'SAME'),
        r"input #2\(zero-based\) was expected to be a float tensor but is a double tensor",
        in_function=r"Input 'out_backprop' of '[^']*' Op has type float64 that does not match type float32 of argument 'filter'"),
    # Section 3.1 (the kernel's attribute checks; Invalid data format and
    # Unknown padding type cannot be reached: the op's attr enums refuse first).
    "data_format_NCDHW": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'SAME', data_format='NCDHW'),
        r"Value for attr 'data_format' of \"NCDHW\" is not in the list of allowed values",
        in_function=r"Attr 'data_format' of '[^']*' Op passed string 'NCDHW' not in"),
    "data_format_HWNC": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'SAME', data_format='HWNC'),
        r"Value for attr 'data_format' of \"HWNC\" is not in the list of allowed values",
        in_function=r"Attr 'data_format' of '[^']*' Op passed string 'HWNC' not in"),
    "strides_len5": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1,1], 'SAME'),
        "Sliding window strides field must specify 4 dimensions", fixed=_ok),
    "strides_batch_2": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [2,1,1,1], 'SAME'),
        "does not yet support strides in the batch and depth dimensions", fixed=_ok),
    "strides_depth_2": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,2], 'SAME'),
        "does not yet support strides in the batch and depth dimensions", fixed=_ok),
    # Zero strides inside tf.function crash TF's op (docs/CONTRACT.md section 7):
    # DANGEROUS has them.
    "strides_zero": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,0,1,1], 'SAME'),
        "Row and column strides should be larger than 0", in_function=False, fixed=_ok),
    "strides_negative": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,-1,1], 'SAME'),
        "Row and column strides should be larger than 0", in_function=False, fixed=_ok),
    "dilations_len3": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'SAME', dilations=[1,1,1]),
        "Sliding window dilations field must specify 4 dimensions", fixed=_ok),
    "dilations_len5": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'SAME', dilations=[1,1,1,1,1]),
        "Sliding window dilations field must specify 4 dimensions", fixed=_ok),
    "dilations_batch_2": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'SAME', dilations=[2,1,1,1]),
        "does not yet support dilations in the batch and depth dimensions", fixed=_ok),
    "dilations_depth_2": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'SAME', dilations=[1,1,1,2]),
        "does not yet support dilations in the batch and depth dimensions", fixed=_ok),
    # TF's CPU kernel refuses every dilation other than 1 before this check.
    "dilations_zero": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'SAME', dilations=[1,0,1,1]),
        Reason("Dilated rates should be larger than 0",
               "Current CPU implementations do not yet support dilation rates larger than 1"),
        fixed=_ok),
    "dilations_negative": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'SAME', dilations=[1,1,-2,1]),
        Reason("Dilated rates should be larger than 0",
               "Current CPU implementations do not yet support dilation rates larger than 1"),
        fixed=_ok),
    # Section 3.2. The negative entries keep each axis's total padding, so dy
    # has the size they give (fixed: the same total, non-negative).
    "explicit_padding_negative": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], [[0,0],[-1,3],[1,1],[0,0]]),
        "All elements of explicit_paddings must be nonnegative",
        fixed=lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], [[0,0],[0,2],[1,1],[0,0]])),
    "explicit_padding_negative_after": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], [[0,0],[1,1],[3,-1],[0,0]]),
        "All elements of explicit_paddings must be nonnegative",
        fixed=lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], [[0,0],[1,1],[2,0],[0,0]])),
    "explicit_padding_batch": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], [[1,0],[1,1],[1,1],[0,0]]),
        "Nonzero explicit padding in the batch or depth dimensions is not supported",
        fixed=lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], _PADS)),
    "explicit_padding_depth": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], [[0,0],[1,1],[1,1],[0,1]]),
        "Nonzero explicit padding in the batch or depth dimensions is not supported",
        fixed=lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], _PADS)),
    # Section 3.3. Inside tf.function the shape function (TF's own, for both
    # ops) refuses these at trace time.
    "filter_rank3": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w[0], dy, [1,1,1,1], 'SAME'),
        "filter must be 4-dimensional", in_function="Shape must be rank 4 but is rank 3", fixed=_ok),
    # TF's kernel names the wrong operand here.
    "out_backprop_rank3": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy[0], [1,1,1,1], 'SAME'),
        Reason("out_backprop must be 4-dimensional, got: 3", "input_sizes must be 4-dimensional, got: 3"),
        in_function="Shape must be rank 4 but is rank 3", fixed=_ok),
    "input_sizes_rank2": Case(
        lambda OP, w, dy, **_: OP(tf.constant([[1,4],[4,2]]), w, dy, [1,1,1,1], 'SAME'),
        "input_sizes input must be 1-dim, not 2", in_function="Shape must be rank 1 but is rank 2",
        fixed=_ok),
    "input_sizes_2v_negative": Case(
        lambda OP, w, dy, **_: OP([-4,4], w, dy, [1,1,1,1], 'SAME'),
        "elements of input_sizes must be >= 0, not -4x4",
        in_function="Invalid value in tensor used for shape: -4",
        fixed=lambda OP, w, dy, **_: OP([4,4], w, dy, [1,1,1,1], 'SAME')),
    # Section 3.4. 2 groups of 2 input channels, 3 output channels. TF's CPU
    # kernel refuses groups altogether.
    "groups_out_depth_not_divisible": Case(
        lambda OP, w, dy, **_: OP([1,4,4,4], tf.ones([3,3,2,3]), dy, [1,1,1,1], 'SAME'),
        Reason("out_depth 3 must be evenly divisible by the number of groups 2",
               "Gradients for grouped convolutions are not supported on CPU"),
        fixed=lambda OP, w, dy, **_: OP([1,4,4,4], tf.ones([3,3,2,4]), tf.ones([1,4,4,4]), [1,1,1,1], 'SAME'),
        fixed_tf=False),
    "out_depth_mismatch_with_filter": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, tf.ones([1,4,4,4]), [1,1,1,1], 'SAME'),
        "filter and out_backprop must have the same out_depth",
        in_function="Dimensions must be equal, but are 4 and 3", fixed=_ok),
}


def _ok_nchw(OP, w, dy, **_):
    return OP([1,2,4,4], w, tf.transpose(dy,[0,3,1,2]), [1,1,1,1], 'SAME', data_format='NCHW')


def _ours(pattern):
    """A reason only our op is checked for (TF's crashes or refuses earlier)."""
    return Reason(pattern, None)


def _mismatch(actual, computed, dim, rest=""):
    return (f"Size of out_backprop doesn't match computed: actual = {actual}, "
            f"computed = {computed} spatial_dim: {dim}{rest}")


# May crash TF's own op (docs/CONTRACT.md section 7), or exercise paths that could
# crash ours: only our op runs them, in a subprocess. A str reason is checked
# on TF's reference kernel too (the oracle's child survives those); _ours(...)
# where TF's kernel crashes or refuses the input for another reason first.
DANGEROUS = {
    # NCHW: TF's CPU kernel refuses the format before checking these.
    "strides_nchw_depth_2": Case(
        lambda OP, w, dy, **_: OP([1,2,4,4], w, tf.transpose(dy,[0,3,1,2]), [1,2,1,1], 'SAME', data_format='NCHW'),
        _ours("does not yet support strides in the batch and depth dimensions"), "UnimplementedError",
        fixed=_ok_nchw, fixed_tf=False),
    "strides_nchw_batch_2": Case(
        lambda OP, w, dy, **_: OP([1,2,4,4], w, tf.transpose(dy,[0,3,1,2]), [2,1,1,1], 'SAME', data_format='NCHW'),
        _ours("does not yet support strides in the batch and depth dimensions"), "UnimplementedError",
        fixed=_ok_nchw, fixed_tf=False),
    "dilations_nchw_depth_2": Case(
        lambda OP, w, dy, **_: OP([1,2,4,4], w, tf.transpose(dy,[0,3,1,2]), [1,1,1,1], 'SAME', data_format='NCHW', dilations=[1,2,1,1]),
        _ours("does not yet support dilations in the batch and depth dimensions"), "UnimplementedError",
        fixed=_ok_nchw, fixed_tf=False),
    "explicit_padding_nchw_depth": Case(
        lambda OP, w, dy, **_: OP([1,2,4,4], w, tf.transpose(dy,[0,3,1,2]), [1,1,1,1], [[0,0],[1,0],[1,1],[1,1]], data_format='NCHW'),
        _ours("Nonzero explicit padding in the batch or depth dimensions is not supported"), "InvalidArgumentError",
        fixed=lambda OP, w, dy, **_: OP([1,2,4,4], w, tf.transpose(dy,[0,3,1,2]), [1,1,1,1], [[0,0],[0,0],[1,1],[1,1]], data_format='NCHW'),
        fixed_tf=False),
    # NHWC-ordered pairs given for NCHW: depth padding, and the width's (0, 0)
    # would not match dy either; the depth check comes first.
    "explicit_padding_nchw_spatial_in_nhwc_slots": Case(
        lambda OP, w, dy, **_: OP([1,2,4,4], w, tf.transpose(dy,[0,3,1,2]), [1,1,1,1], [[0,0],[1,1],[1,1],[0,0]], data_format='NCHW'),
        _ours("Nonzero explicit padding in the batch or depth dimensions is not supported"), "InvalidArgumentError"),
    "strides_len0": Case(lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [], 'SAME'),
                         "Sliding window strides field must specify 4 dimensions", "InvalidArgumentError", fixed=_ok),
    "strides_len2": Case(lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1], 'SAME'),
                         "Sliding window strides field must specify 4 dimensions", "InvalidArgumentError", fixed=_ok),
    "strides_len3": Case(lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1], 'SAME'),
                         "Sliding window strides field must specify 4 dimensions", "InvalidArgumentError", fixed=_ok),
    "strides_len2_in_function": Case(
        lambda OP, w, dy, **_: tf.function(lambda: OP([1,4,4,2], w, dy, [1,1], 'SAME'))(),
        "Sliding window strides field must specify 4 dimensions", "InvalidArgumentError",
        fixed=lambda OP, w, dy, **_: tf.function(lambda: OP([1,4,4,2], w, dy, [1,1,1,1], 'SAME'))()),
    "strides_zero_in_function": Case(
        lambda OP, w, dy, **_: tf.function(lambda: OP([1,4,4,2], w, dy, [1,0,1,1], 'SAME'))(),
        _ours("Row and column strides should be larger than 0"), "InvalidArgumentError",
        fixed=lambda OP, w, dy, **_: tf.function(lambda: OP([1,4,4,2], w, dy, [1,1,1,1], 'SAME'))()),
    "strides_zero_in_function_cols": Case(
        lambda OP, w, dy, **_: tf.function(lambda: OP([1,6,6,2], w, dy, [1,1,0,1], 'VALID'))(),
        _ours("Row and column strides should be larger than 0"), "InvalidArgumentError",
        fixed=lambda OP, w, dy, **_: tf.function(lambda: OP([1,6,6,2], w, dy, [1,1,1,1], 'VALID'))()),
    "input_sizes_len0": Case(lambda OP, w, dy, **_: OP(tf.constant([], tf.int32), w, dy, [1,1,1,1], 'SAME'),
                             "requires input_sizes to contain 4 values or 2 values, but got: 0",
                             "InvalidArgumentError", fixed=_ok),
    "input_sizes_len1": Case(lambda OP, w, dy, **_: OP([1], w, dy, [1,1,1,1], 'SAME'),
                             "requires input_sizes to contain 4 values or 2 values, but got: 1",
                             "InvalidArgumentError", fixed=_ok),
    "input_sizes_len3": Case(lambda OP, w, dy, **_: OP([1,4,4], w, dy, [1,1,1,1], 'SAME'),
                             "requires input_sizes to contain 4 values or 2 values, but got: 3",
                             "InvalidArgumentError", fixed=_ok),
    "input_sizes_len5": Case(lambda OP, w, dy, **_: OP([1,4,4,2,1], w, dy, [1,1,1,1], 'SAME'),
                             "requires input_sizes to contain 4 values or 2 values, but got: 5",
                             "InvalidArgumentError", fixed=_ok),
    "input_sizes_scalar": Case(lambda OP, w, dy, **_: OP(tf.constant(4), w, dy, [1,1,1,1], 'SAME'),
                               "input_sizes input must be 1-dim, not 0", "InvalidArgumentError", fixed=_ok),
    # Non-constant input_sizes inside a function: only the kernel can check.
    "input_sizes_len3_runtime": Case(
        lambda OP, w, dy, **_: tf.function(lambda s: OP(s, w, dy, [1,1,1,1], 'SAME'), input_signature=[tf.TensorSpec([None], tf.int32)])(tf.constant([1,4,4])),
        "requires input_sizes to contain 4 values or 2 values, but got: 3", "InvalidArgumentError",
        fixed=lambda OP, w, dy, **_: tf.function(lambda s: OP(s, w, dy, [1,1,1,1], 'SAME'), input_signature=[tf.TensorSpec([None], tf.int32)])(tf.constant([1,4,4,2]))),
    # Negative or overflowing 4-value input_sizes: TensorShape's own checks.
    "input_sizes_negative": Case(lambda OP, w, dy, **_: OP([1,-4,4,2], w, dy, [1,1,1,1], 'SAME'),
                                 "Dimension -4 must be >= 0", "InvalidArgumentError", fixed=_ok),
    "input_sizes_negative_batch": Case(lambda OP, w, dy, **_: OP([-1,4,4,2], w, dy, [1,1,1,1], 'SAME'),
                                       "Dimension -1 must be >= 0", "InvalidArgumentError", fixed=_ok),
    "input_sizes_negative_depth": Case(lambda OP, w, dy, **_: OP([1,4,4,-2], w, dy, [1,1,1,1], 'SAME'),
                                       "Dimension -2 must be >= 0", "InvalidArgumentError", fixed=_ok),
    "input_sizes_negative_runtime": Case(
        lambda OP, w, dy, **_: tf.function(lambda s: OP(s, w, dy, [1,1,1,1], 'SAME'), input_signature=[tf.TensorSpec([4], tf.int32)])(tf.constant([1,4,-4,2])),
        "Dimension -4 must be >= 0", "InvalidArgumentError",
        fixed=lambda OP, w, dy, **_: tf.function(lambda s: OP(s, w, dy, [1,1,1,1], 'SAME'), input_signature=[tf.TensorSpec([4], tf.int32)])(tf.constant([1,4,4,2]))),
    "input_sizes_product_overflow": Case(lambda OP, w, dy, **_: OP([2**31-1]*4, w, dy, [1,1,1,1], 'SAME'),
                                         r"would have more than 2\*\*63 - 1 elements", "InvalidArgumentError",
                                         fixed=_ok),
    # The 2-value form's shape overflows (batch from dy, depth from the
    # filter); the geometry matches dy (SAME, stride 1), which is empty. TF's
    # kernel truncates the batch to int and reports a batch mismatch instead.
    "input_sizes_2v_product_overflow": Case(
        lambda OP, w, dy, **_: OP([2**31-1, 2**31-1], tf.zeros([3,3,2,0]), tf.zeros([2**40,0,2**31-1,2**31-1]), [1,1,1,1], 'SAME', data_format='NCHW'),
        _ours(r"Shape \[1099511627776,2,2147483647,2147483647\] would have more than 2\*\*63 - 1 elements"),
        "InvalidArgumentError"),
    "input_sizes_2v_scalar_filter": Case(
        lambda OP, w, dy, **_: OP([4,4], tf.constant(1.0), dy, [1,1,1,1], 'SAME'),
        _ours("filter must be 4-dimensional, got: 0"), "InvalidArgumentError",
        fixed=lambda OP, w, dy, **_: OP([4,4], w, dy, [1,1,1,1], 'SAME')),
    "input_sizes_2v_rank2_filter": Case(
        lambda OP, w, dy, **_: OP([4,4], tf.ones([3,3]), dy, [1,1,1,1], 'SAME'),
        _ours("filter must be 4-dimensional, got: 2"), "InvalidArgumentError",
        fixed=lambda OP, w, dy, **_: OP([4,4], w, dy, [1,1,1,1], 'SAME')),
    # Consistent geometry ((40000 - 1) // 40000 + 1 = 1 = dy's size), only too
    # large to allocate; no smaller variant keeps the geometry.
    "output_too_large": Case(
        lambda OP, w, dy, **_: OP([40000,40000,40000,1], tf.ones([1,1,1,1]), tf.ones([40000,1,1,1]), [1,40000,40000,1], 'VALID'),
        _ours(r"OOM when allocating tensor with shape ?\[40000,40000,40000,1\]"), "ResourceExhaustedError"),
    "output_too_large_nchw": Case(
        lambda OP, w, dy, **_: OP([40000,1,40000,40000], tf.ones([1,1,1,1]), tf.ones([40000,1,1,1]), [1,1,40000,40000], 'VALID', data_format='NCHW'),
        _ours(r"OOM when allocating tensor with shape ?\[40000,1,40000,40000\]"), "ResourceExhaustedError"),
    "batch_mismatch": Case(lambda OP, w, dy, **_: OP([2,4,4,2], w, dy, [1,1,1,1], 'SAME'),
                           "input and out_backprop must have the same batch size. Input batch: 2, outbackprop batch: 1",
                           "InvalidArgumentError", fixed=_ok),
    "depth_mismatch": Case(lambda OP, w, dy, **_: OP([1,4,4,3], w, dy, [1,1,1,1], 'SAME'),
                           "input depth must be evenly divisible by filter depth", "InvalidArgumentError", fixed=_ok),
    # One spatial axis off at a time (the other matches dy).
    "spatial_mismatch_valid": Case(
        lambda OP, w, dy, **_: OP([1,5,6,2], w, dy, [1,1,1,1], 'VALID'),
        _mismatch(4, 3, 1, " input: 5 filter: 3 output: 4 stride: 1 dilation: 1"), "InvalidArgumentError",
        fixed=lambda OP, w, dy, **_: OP([1,6,6,2], w, dy, [1,1,1,1], 'VALID')),
    "spatial_mismatch_valid_cols": Case(
        lambda OP, w, dy, **_: OP([1,6,5,2], w, dy, [1,1,1,1], 'VALID'),
        _mismatch(4, 3, 2, " input: 5 filter: 3 output: 4 stride: 1 dilation: 1"), "InvalidArgumentError",
        fixed=lambda OP, w, dy, **_: OP([1,6,6,2], w, dy, [1,1,1,1], 'VALID')),
    "spatial_mismatch_same_stride2": Case(
        lambda OP, w, dy, **_: OP([1,4,7,2], w, dy, [1,2,2,1], 'SAME'),
        _mismatch(4, 2, 1, " input: 4 filter: 3 output: 4 stride: 2"), "InvalidArgumentError",
        fixed=lambda OP, w, dy, **_: OP([1,8,7,2], w, dy, [1,2,2,1], 'SAME')),
    "spatial_mismatch_explicit": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], [[0,0],[2,2],[1,1],[0,0]]),
        _mismatch(4, 6, 1), "InvalidArgumentError",
        fixed=lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], _PADS)),
    "spatial_mismatch_dilated": Case(
        lambda OP, w, dy, **_: OP([1,7,6,2], w, dy, [1,1,1,1], 'VALID', dilations=[1,2,1,1]),
        _ours(_mismatch(4, 3, 1, " input: 7 filter: 3 output: 4 stride: 1 dilation: 2")), "InvalidArgumentError",
        fixed=lambda OP, w, dy, **_: OP([1,8,6,2], w, dy, [1,1,1,1], 'VALID', dilations=[1,2,1,1]),
        fixed_tf=False),
    # A negative computed size never equals dy's: without this check the size
    # check would raise instead, with another reason.
    "negative_output_size": Case(
        lambda OP, w, dy, **_: OP([1,1,1,2], tf.ones([5,5,2,3]), tf.ones([1,0,0,3]), [1,1,1,1], 'VALID'),
        r"Computed output size would be negative: -3 \[input_size: 1, effective_filter_size: 5, stride: 1\]",
        "InvalidArgumentError"),
    # TF's kernel names the wrong operand here.
    "out_backprop_rank5": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy[None], [1,1,1,1], 'SAME'),
        Reason("out_backprop must be 4-dimensional, got: 5", "input_sizes must be 4-dimensional, got: 5"),
        "InvalidArgumentError", fixed=_ok),
    "filter_rank5": Case(lambda OP, w, dy, **_: OP([1,4,4,2], w[None], dy, [1,1,1,1], 'SAME'),
                         "filter must be 4-dimensional", "InvalidArgumentError", fixed=_ok),
    "filter_depth_0": Case(lambda OP, w, dy, **_: OP([1,4,4,2], tf.ones([3,3,0,3]), dy, [1,1,1,1], 'SAME'),
                           "filter depth must be strictly greated than zero", "InvalidArgumentError", fixed=_ok),
    # The same check before an empty output's early return.
    "filter_depth_0_empty_output": Case(
        lambda OP, w, dy, **_: OP([1,4,4,0], tf.ones([3,3,0,3]), dy, [1,1,1,1], 'SAME'),
        "filter depth must be strictly greated than zero", "InvalidArgumentError"),
    # SAME with a dilation this large: only the centre tap lands inside, so
    # every element is sum over 3 channels of 1 * 1.
    "huge_dilation_same": Case(lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'SAME', dilations=[1,2**31-1,2**31-1,1]),
                               None, ("fill", [1, 4, 4, 2], 3.0)),
    "huge_dilation_valid": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'VALID', dilations=[1,2**31-1,2**31-1,1]),
        _ours(r"Computed output size would be negative: -4294967290 \[input_size: 4, effective_filter_size: 4294967295, stride: 1\]"),
        "InvalidArgumentError"),
    # The computed size overflows int64: ours says so; TF's wraps to a negative.
    "huge_explicit_padding": Case(
        lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], [[0,0],[2**62,2**62],[0,0],[0,0]]),
        Reason(_mismatch(4, r"\(overflow\)", 1), "Computed output size would be negative: -9223372036854775806"),
        "InvalidArgumentError"),
    # A padding the kernels' int64 indexing refuses, with a dy of exactly the
    # size it gives (empty batch, so nothing is allocated): fixed moves one row
    # of padding to the other side, within the limit, for the same dy.
    "explicit_padding_too_large": Case(
        lambda OP, w, dy, **_: OP([0,4,4,2], w, tf.zeros([0,2**62+3,4,3]), [1,1,1,1], [[0,0],[2**62+1,0],[1,1],[0,0]]),
        _ours("effective filter size or padding too large in spatial_dim 1"), "InvalidArgumentError",
        fixed=lambda OP, w, dy, **_: OP([0,4,4,2], w, tf.zeros([0,2**62+3,4,3]), [1,1,1,1], [[0,0],[2**62,1],[1,1],[0,0]]),
        fixed_tf=False),
    # Section 7 advisories with required results.
    "advisory_zero_filter_same": Case(
        lambda OP, w, dy, **_: OP([52,1,1,5], tf.zeros([0,1,5,0]), tf.zeros([52,1,1,0]), [1,1,1,1], 'SAME'),
        None, ("fill", [52, 1, 1, 5], 0.0)),
    "advisory_empty_out_backprop": Case(
        lambda OP, w, dy, **_: OP([3,1,1,2], tf.ones([1,3,2,3]), tf.zeros([3,1,0,3]), [1,1,2,1], 'VALID'),
        None, ("fill", [3, 1, 1, 2], 0.0)),
    "advisory_filter_1011": Case(
        lambda OP, w, dy, **_: OP([1,4,4,1], tf.zeros([1,0,1,1]), tf.ones([1,4,5,1]), [1,1,1,1], 'VALID'),
        None, ("fill", [1, 4, 4, 1], 0.0)),
    "advisory_transpose_negative_output_shape": Case(
        lambda OP, w, dy, **_: OP([2,-2], tf.ones([1,1,1,1]), tf.ones([1,1,1,1]), [1,1,1,1], 'SAME'),
        "elements of input_sizes must be >= 0, not 2x-2", "InvalidArgumentError"),
    "advisory_transpose_huge_output_shape": Case(
        lambda OP, w, dy, **_: OP([114078056, 179835296], tf.ones([1,1,1,1]), tf.ones([1,1,1,1]), [1,1,1,1], 'SAME'),
        _mismatch(1, 114078056, 1), "InvalidArgumentError"),
    "advisory_transpose_huge_matching_dy": Case(
        lambda OP, w, dy, **_: OP([114078056, 179835296], tf.ones([1,1,1,1]), tf.ones([1,1,1,1]), [1,114078056,179835296,1], 'SAME'),
        _ours(r"OOM when allocating tensor with shape ?\[1,114078056,179835296,1\]"), "ResourceExhaustedError"),
}


def _raw(RAW, w, dy, padding, explicit_paddings):
    return RAW(input_sizes=[1, 4, 4, 2], filter=w, out_backprop=dy, strides=[1, 1, 1, 1],
               padding=padding, explicit_paddings=explicit_paddings)


# Section 3.2 attribute combinations that the Python wrapper cannot produce
# (its own checks fire first): through the raw ops, the kernel's checks alone.
RAW = {
    "explicit_paddings_with_SAME": Case(
        lambda RAW, w, dy, **_: _raw(RAW, w, dy, "SAME", [0] * 8),
        "explicit_paddings attribute must be empty if the padding attribute is not EXPLICIT",
        fixed=lambda RAW, w, dy, **_: _raw(RAW, w, dy, "SAME", [])),
    "explicit_paddings_len6": Case(
        lambda RAW, w, dy, **_: _raw(RAW, w, dy, "EXPLICIT", _FLAT_PADS[:6]),
        "explicit_paddings attribute must contain 8 values, but got: 6",
        fixed=lambda RAW, w, dy, **_: _raw(RAW, w, dy, "EXPLICIT", _FLAT_PADS)),
    "explicit_paddings_len10": Case(
        lambda RAW, w, dy, **_: _raw(RAW, w, dy, "EXPLICIT", _FLAT_PADS + [0, 0]),
        "explicit_paddings attribute must contain 8 values, but got: 10",
        fixed=lambda RAW, w, dy, **_: _raw(RAW, w, dy, "EXPLICIT", _FLAT_PADS)),
    "explicit_paddings_len0": Case(
        lambda RAW, w, dy, **_: _raw(RAW, w, dy, "EXPLICIT", []),
        "explicit_paddings attribute must contain 8 values, but got: 0",
        fixed=lambda RAW, w, dy, **_: _raw(RAW, w, dy, "EXPLICIT", _FLAT_PADS)),
}

# Section 4: the shape function's trace-time checks (graph mode), the same
# function for both ops. name -> (input_sizes, filter shape, out_backprop
# shape, reason); the sizes are consistent but for the one named.
SHAPE_FN = {
    "out_backprop_rank3": ([1, 4, 4, 2], [3, 3, 2, 3], [4, 4, 3], "Shape must be rank 4 but is rank 3"),
    "out_backprop_rank5": ([1, 4, 4, 2], [3, 3, 2, 3], [1, 1, 4, 4, 3], "Shape must be rank 4 but is rank 5"),
    "filter_rank3": ([1, 4, 4, 2], [3, 2, 3], [1, 4, 4, 3], "Shape must be rank 4 but is rank 3"),
    "filter_rank5": ([1, 4, 4, 2], [1, 3, 3, 2, 3], [1, 4, 4, 3], "Shape must be rank 4 but is rank 5"),
    "depth_vs_filter": ([1, 4, 4, 2], [3, 3, 2, 3], [1, 4, 4, 5], "Dimensions must be equal, but are 5 and 3"),
    "input_sizes_len3": ([1, 4, 4], [3, 3, 2, 3], [1, 4, 4, 3],
                         "requires input_sizes to contain 4 values or 2 values, but got: 3"),
    "input_sizes_len5": ([1, 4, 4, 2, 1], [3, 3, 2, 3], [1, 4, 4, 3],
                         "requires input_sizes to contain 4 values or 2 values, but got: 5"),
    "input_sizes_batch_vs_out_backprop": ([2, 4, 4, 2], [3, 3, 2, 3], [1, 4, 4, 3],
                                          "Dimensions must be equal, but are 2 and 1"),
}

_TABLES = {"SAFE": SAFE, "RAW": RAW, "DANGEROUS": DANGEROUS}
_names = [name for table in _TABLES.values() for name in table]
assert len(_names) == len(set(_names)), "case names must be unique across the tables"
FIXED = {name: case for table in _TABLES.values() for name, case in table.items()
         if case.fixed is not None}

# What the oracle's child runs by table and name: the cases' calls, and
# "FIXED", their repaired variants.
TABLES = {**{key: {name: case.call for name, case in table.items()}
             for key, table in _TABLES.items()},
          "FIXED": {name: case.fixed for name, case in FIXED.items()}}


def namespace(op, raw_op=None):
    """The arguments every case is called with."""
    return {"OP": op, "RAW": raw_op, "w": tf.ones([3, 3, 2, 3]), "dy": tf.ones([1, 4, 4, 3])}


def _message(err):
    """The error's message, shortened in the middle if long (inside
    tf.function the reason comes last, after the traceback)."""
    text = str(err)
    return text if len(text) <= 4000 else text[:1000] + " [...] " + text[-3000:]


def outcome(case, ns, in_function=False):
    """What calling `case` did (inside a tf.function if asked):
    {"exc": class name, "msg": ...} or {"shape": [...], "values": [...]}."""
    try:
        if in_function:
            result = tf.function(lambda: case(**ns))()
        else:
            result = case(**ns)
    except Exception as err:  # pylint: disable=broad-except
        return {"exc": type(err).__name__, "msg": _message(err)}
    value = result.numpy()
    return {"shape": list(value.shape),
            "values": sorted({float(v) for v in value.ravel()[:100000]})[:10]}


def check_dangerous_outcome(name, got):
    """Asserts that our op did what DANGEROUS[name] requires: the exception
    class and the reason, or the result."""
    assert got.get("status") not in ("crash", "hang"), (
        f"{name} {got.get('status')}ed the process: {got}")
    case = DANGEROUS[name]
    expected = case.expected
    if isinstance(expected, tuple):
        _, shape, value = expected
        assert "exc" not in got, f"{name}: expected a result filled with {value}, got {got}"
        assert got["shape"] == shape, got
        assert got["values"] == ([value] if np.prod(shape) else []), got
    else:
        assert got.get("exc") == expected, f"{name}: expected {expected}, got {got}"
        check_reason(got["msg"], reasons(case.reason).ours, "our", name)


def main(argv=None):
    """Child entry (support.processes.run_isolated): runs our op on the
    DANGEROUS cases named in a JSON file, one logged call each."""
    import tf_custom_op  # pylint: disable=import-outside-toplevel
    from support.processes import child_call_arguments, record_calls  # pylint: disable=import-outside-toplevel
    argv = sys.argv[1:] if argv is None else argv
    with open(argv[0]) as f:
        names = json.load(f)
    results_path, skip = child_call_arguments(argv)
    ns = namespace(tf_custom_op.conv2d_backprop_input)
    record_calls(results_path, skip, len(names), lambda i: outcome(DANGEROUS[names[i]].call, ns))
