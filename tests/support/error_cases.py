"""Malformed inputs (docs/CONTRACT.md sections 1, 3, 4 and 7) as cases.

Each case is a function called with the names of `namespace()`: `OP` (our
`conv2d_backprop_input` or TF's built-in), `RAW` (the matching raw op), `w`
(a [3, 3, 2, 3] float32 filter) and `dy` (a [1, 4, 4, 3] out_backprop for
input [1, 4, 4, 2] at stride 1, SAME). Cases are looked up by table and name,
so a child process (the TF oracle, the crash-safe runner) runs the same case
from its name. Shared by test_errors.py, test_tf_cases.py and their children.
"""
import json
import sys

import numpy as np
import tensorflow as tf

# Safe for TF's own op: ours runs in the pytest process, TF's in the oracle's
# child; both must raise the same exception class. name -> case.
SAFE = {
    # Section 1: Python wrapper.
    "both_filter_and_filters": lambda OP, w, dy, **_: OP([1,4,4,2], filter=w, filters=w, out_backprop=dy, strides=[1,1,1,1], padding='SAME'),
    "no_filter": lambda OP, w, dy, **_: OP([1,4,4,2], out_backprop=dy, strides=[1,1,1,1], padding='SAME'),
    "padding_EXPLICIT_string": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'EXPLICIT'),
    "padding_list_not_pairs": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], [0,0,0,0]),
    "padding_3_pairs": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], [[0,0],[0,0],[0,0]]),
    "padding_5_pairs": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], [[0,0]]*5),
    "padding_triple": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], [[0,0],[0,0,0],[0,0],[0,0]]),
    "padding_None": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], None),
    "padding_unknown_string": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'FULL'),
    "strides_int": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, 1, 'SAME'),
    "strides_None": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, None, 'SAME'),
    "dilations_int": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'SAME', dilations=1),
    "input_sizes_int64_tensor": lambda OP, w, dy, **_: OP(tf.constant([1,4,4,2], tf.int64), w, dy, [1,1,1,1], 'SAME'),
    "input_sizes_float_tensor": lambda OP, w, dy, **_: OP(tf.constant([1.,4,4,2]), w, dy, [1,1,1,1], 'SAME'),
    "dtype_uint8": lambda OP, w, dy, **_: OP([1,4,4,2], tf.cast(w,tf.uint8), tf.cast(dy,tf.uint8), [1,1,1,1], 'SAME'),
    "dtype_int64": lambda OP, w, dy, **_: OP([1,4,4,2], tf.cast(w,tf.int64), tf.cast(dy,tf.int64), [1,1,1,1], 'SAME'),
    "dtype_complex64": lambda OP, w, dy, **_: OP([1,4,4,2], tf.cast(w,tf.complex64), tf.cast(dy,tf.complex64), [1,1,1,1], 'SAME'),
    "dtype_mismatch": lambda OP, w, dy, **_: OP([1,4,4,2], w, tf.cast(dy,tf.float64), [1,1,1,1], 'SAME'),
    # Section 3.1.
    "data_format_NCDHW": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'SAME', data_format='NCDHW'),
    "data_format_HWNC": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'SAME', data_format='HWNC'),
    "strides_len5": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1,1], 'SAME'),
    "strides_batch_2": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [2,1,1,1], 'SAME'),
    "strides_depth_2": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,2], 'SAME'),
    "strides_zero": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,0,1,1], 'SAME'),
    "strides_negative": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,-1,1], 'SAME'),
    "dilations_len3": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'SAME', dilations=[1,1,1]),
    "dilations_len5": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'SAME', dilations=[1,1,1,1,1]),
    "dilations_batch_2": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'SAME', dilations=[2,1,1,1]),
    "dilations_depth_2": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'SAME', dilations=[1,1,1,2]),
    "dilations_zero": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'SAME', dilations=[1,0,1,1]),
    "dilations_negative": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'SAME', dilations=[1,1,-2,1]),
    # Section 3.2.
    "explicit_padding_negative": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], [[0,0],[-1,1],[0,0],[0,0]]),
    "explicit_padding_batch": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], [[1,0],[1,1],[1,1],[0,0]]),
    "explicit_padding_depth": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], [[0,0],[1,1],[1,1],[0,1]]),
    # Section 3.3.
    "filter_rank3": lambda OP, w, dy, **_: OP([1,4,4,2], w[0], dy, [1,1,1,1], 'SAME'),
    "out_backprop_rank3": lambda OP, w, dy, **_: OP([1,4,4,2], w, dy[0], [1,1,1,1], 'SAME'),
    "input_sizes_rank2": lambda OP, w, dy, **_: OP(tf.constant([[1,4],[4,2]]), w, dy, [1,1,1,1], 'SAME'),
    "input_sizes_2v_negative": lambda OP, w, dy, **_: OP([-4,4], w, dy, [1,1,1,1], 'SAME'),
    # Section 3.4.
    "groups_out_depth_not_divisible": lambda OP, w, dy, **_: OP([1,4,4,4], tf.ones([3,3,2,3]), dy, [1,1,1,1], 'SAME'),
    "out_depth_mismatch_with_filter": lambda OP, w, dy, **_: OP([1,4,4,2], w, tf.ones([1,4,4,4]), [1,1,1,1], 'SAME'),
}

# May crash TF's own op (docs/CONTRACT.md section 7), or exercise paths that could
# crash ours: only our op runs them, in a subprocess.
# name -> (case, expected): expected is an exception class name, or
# ("fill", shape, value): a result of that shape with every element == value.
DANGEROUS = {
    # NCHW: TF's CPU kernel refuses the format before checking these.
    "strides_nchw_depth_2": (lambda OP, w, dy, **_: OP([1,2,4,4], w, tf.transpose(dy,[0,3,1,2]), [1,2,1,1], 'SAME', data_format='NCHW'),
                             "UnimplementedError"),
    "strides_nchw_batch_2": (lambda OP, w, dy, **_: OP([1,2,4,4], w, tf.transpose(dy,[0,3,1,2]), [2,1,1,1], 'SAME', data_format='NCHW'),
                             "UnimplementedError"),
    "dilations_nchw_depth_2": (lambda OP, w, dy, **_: OP([1,2,4,4], w, tf.transpose(dy,[0,3,1,2]), [1,1,1,1], 'SAME', data_format='NCHW', dilations=[1,2,1,1]),
                               "UnimplementedError"),
    "explicit_padding_nchw_depth": (lambda OP, w, dy, **_: OP([1,2,4,4], w, tf.transpose(dy,[0,3,1,2]), [1,1,1,1], [[0,0],[1,0],[1,1],[1,1]], data_format='NCHW'),
                                    "InvalidArgumentError"),
    "explicit_padding_nchw_spatial_in_nhwc_slots": (
        lambda OP, w, dy, **_: OP([1,2,4,4], w, tf.transpose(dy,[0,3,1,2]), [1,1,1,1], [[0,0],[1,1],[1,1],[0,0]], data_format='NCHW'),
        "InvalidArgumentError"),
    "strides_len0": (lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [], 'SAME'), "InvalidArgumentError"),
    "strides_len2": (lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1], 'SAME'), "InvalidArgumentError"),
    "strides_len3": (lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1], 'SAME'), "InvalidArgumentError"),
    "strides_len2_in_function": (lambda OP, w, dy, **_: tf.function(lambda: OP([1,4,4,2], w, dy, [1,1], 'SAME'))(),
                                 "InvalidArgumentError"),
    "strides_zero_in_function": (lambda OP, w, dy, **_: tf.function(lambda: OP([1,4,4,2], w, dy, [1,0,1,1], 'SAME'))(),
                                 "InvalidArgumentError"),
    "strides_zero_in_function_cols": (lambda OP, w, dy, **_: tf.function(lambda: OP([1,4,4,2], w, dy, [1,1,0,1], 'VALID'))(),
                                      "InvalidArgumentError"),
    "input_sizes_len0": (lambda OP, w, dy, **_: OP(tf.constant([], tf.int32), w, dy, [1,1,1,1], 'SAME'), "InvalidArgumentError"),
    "input_sizes_len1": (lambda OP, w, dy, **_: OP([1], w, dy, [1,1,1,1], 'SAME'), "InvalidArgumentError"),
    "input_sizes_len3": (lambda OP, w, dy, **_: OP([1,4,4], w, dy, [1,1,1,1], 'SAME'), "InvalidArgumentError"),
    "input_sizes_len5": (lambda OP, w, dy, **_: OP([1,4,4,2,1], w, dy, [1,1,1,1], 'SAME'), "InvalidArgumentError"),
    "input_sizes_scalar": (lambda OP, w, dy, **_: OP(tf.constant(4), w, dy, [1,1,1,1], 'SAME'), "InvalidArgumentError"),
    # Non-constant input_sizes inside a function: only the kernel can check.
    "input_sizes_len3_runtime": (
        lambda OP, w, dy, **_: tf.function(lambda s: OP(s, w, dy, [1,1,1,1], 'SAME'), input_signature=[tf.TensorSpec([None], tf.int32)])(tf.constant([1,4,4])),
        "InvalidArgumentError"),
    "input_sizes_negative": (lambda OP, w, dy, **_: OP([1,-4,4,2], w, dy, [1,1,1,1], 'SAME'), "InvalidArgumentError"),
    "input_sizes_negative_batch": (lambda OP, w, dy, **_: OP([-1,4,4,2], w, dy, [1,1,1,1], 'SAME'), "InvalidArgumentError"),
    "input_sizes_negative_depth": (lambda OP, w, dy, **_: OP([1,4,4,-2], w, dy, [1,1,1,1], 'SAME'), "InvalidArgumentError"),
    "input_sizes_negative_runtime": (
        lambda OP, w, dy, **_: tf.function(lambda s: OP(s, w, dy, [1,1,1,1], 'SAME'), input_signature=[tf.TensorSpec([4], tf.int32)])(tf.constant([1,4,-4,2])),
        "InvalidArgumentError"),
    "input_sizes_product_overflow": (lambda OP, w, dy, **_: OP([2**31-1]*4, w, dy, [1,1,1,1], 'SAME'), "InvalidArgumentError"),
    "input_sizes_2v_scalar_filter": (lambda OP, w, dy, **_: OP([4,4], tf.constant(1.0), dy, [1,1,1,1], 'SAME'),
                                     "InvalidArgumentError"),
    "input_sizes_2v_rank2_filter": (lambda OP, w, dy, **_: OP([4,4], tf.ones([3,3]), dy, [1,1,1,1], 'SAME'),
                                    "InvalidArgumentError"),
    "output_too_large": (lambda OP, w, dy, **_: OP([40000,40000,40000,1], tf.ones([1,1,1,1]), tf.ones([40000,1,1,1]), [1,40000,40000,1], 'VALID'), "ResourceExhaustedError"),
    "output_too_large_nchw": (lambda OP, w, dy, **_: OP([40000,1,40000,40000], tf.ones([1,1,1,1]), tf.ones([40000,1,1,1]), [1,1,40000,40000], 'VALID', data_format='NCHW'), "ResourceExhaustedError"),
    "batch_mismatch": (lambda OP, w, dy, **_: OP([2,4,4,2], w, dy, [1,1,1,1], 'SAME'), "InvalidArgumentError"),
    "depth_mismatch": (lambda OP, w, dy, **_: OP([1,4,4,3], w, dy, [1,1,1,1], 'SAME'), "InvalidArgumentError"),
    "spatial_mismatch_valid": (lambda OP, w, dy, **_: OP([1,5,4,2], w, dy, [1,1,1,1], 'VALID'), "InvalidArgumentError"),
    "spatial_mismatch_same_stride2": (lambda OP, w, dy, **_: OP([1,4,7,2], w, dy, [1,2,2,1], 'SAME'), "InvalidArgumentError"),
    "spatial_mismatch_explicit": (lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], [[0,0],[2,2],[1,1],[0,0]]),
                                  "InvalidArgumentError"),
    "spatial_mismatch_dilated": (lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'VALID', dilations=[1,2,2,1]),
                                 "InvalidArgumentError"),
    "negative_output_size": (lambda OP, w, dy, **_: OP([1,1,1,2], tf.ones([5,5,2,3]), tf.ones([1,0,0,3]), [1,1,1,1], 'VALID'),
                             "InvalidArgumentError"),
    "out_backprop_rank5": (lambda OP, w, dy, **_: OP([1,4,4,2], w, dy[None], [1,1,1,1], 'SAME'), "InvalidArgumentError"),
    "filter_rank5": (lambda OP, w, dy, **_: OP([1,4,4,2], w[None], dy, [1,1,1,1], 'SAME'), "InvalidArgumentError"),
    "filter_depth_0": (lambda OP, w, dy, **_: OP([1,4,4,2], tf.ones([3,3,0,3]), dy, [1,1,1,1], 'SAME'), "InvalidArgumentError"),
    "filter_depth_0_empty_output": (lambda OP, w, dy, **_: OP([1,4,4,0], tf.ones([3,3,0,3]), dy, [1,1,1,1], 'SAME'),
                                    "InvalidArgumentError"),
    # SAME with a dilation this large: only the centre tap lands inside, so
    # every element is sum over 3 channels of 1 * 1.
    "huge_dilation_same": (lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'SAME', dilations=[1,2**31-1,2**31-1,1]),
                           ("fill", [1, 4, 4, 2], 3.0)),
    "huge_dilation_valid": (lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], 'VALID', dilations=[1,2**31-1,2**31-1,1]),
                            "InvalidArgumentError"),
    "huge_explicit_padding": (lambda OP, w, dy, **_: OP([1,4,4,2], w, dy, [1,1,1,1], [[0,0],[2**62,2**62],[0,0],[0,0]]),
                              "InvalidArgumentError"),
    # Section 7 advisories with required results.
    "advisory_zero_filter_same": (lambda OP, w, dy, **_: OP([52,1,1,5], tf.zeros([0,1,5,0]), tf.zeros([52,1,1,0]), [1,1,1,1], 'SAME'),
                                  ("fill", [52, 1, 1, 5], 0.0)),
    "advisory_empty_out_backprop": (lambda OP, w, dy, **_: OP([3,1,1,2], tf.ones([1,3,2,3]), tf.zeros([3,1,0,3]), [1,1,2,1], 'VALID'),
                                    ("fill", [3, 1, 1, 2], 0.0)),
    "advisory_filter_1011": (lambda OP, w, dy, **_: OP([1,4,4,1], tf.zeros([1,0,1,1]), tf.ones([1,4,5,1]), [1,1,1,1], 'VALID'),
                             ("fill", [1, 4, 4, 1], 0.0)),
    "advisory_transpose_negative_output_shape": (
        lambda OP, w, dy, **_: OP([2,-2], tf.ones([1,1,1,1]), tf.ones([1,1,1,1]), [1,1,1,1], 'SAME'), "InvalidArgumentError"),
    "advisory_transpose_huge_output_shape": (
        lambda OP, w, dy, **_: OP([114078056, 179835296], tf.ones([1,1,1,1]), tf.ones([1,1,1,1]), [1,1,1,1], 'SAME'),
        "InvalidArgumentError"),
    "advisory_transpose_huge_matching_dy": (
        lambda OP, w, dy, **_: OP([114078056, 179835296], tf.ones([1,1,1,1]), tf.ones([1,1,1,1]), [1,114078056,179835296,1], 'SAME'),
        "ResourceExhaustedError"),
}


# Section 3.2 attribute combinations that the Python wrapper cannot produce:
# through the raw ops, same class as TF's raw op.
RAW = {
    "explicit_paddings_with_SAME": lambda RAW, w, dy, **_: RAW(
        input_sizes=[1, 4, 4, 2], filter=w, out_backprop=dy, strides=[1, 1, 1, 1],
        padding="SAME", explicit_paddings=[0] * 8),
    "explicit_paddings_len6": lambda RAW, w, dy, **_: RAW(
        input_sizes=[1, 4, 4, 2], filter=w, out_backprop=dy, strides=[1, 1, 1, 1],
        padding="EXPLICIT", explicit_paddings=[0] * 6),
    "explicit_paddings_len0": lambda RAW, w, dy, **_: RAW(
        input_sizes=[1, 4, 4, 2], filter=w, out_backprop=dy, strides=[1, 1, 1, 1],
        padding="EXPLICIT", explicit_paddings=[]),
}

TABLES = {"SAFE": SAFE, "RAW": RAW, "DANGEROUS": {k: v[0] for k, v in DANGEROUS.items()}}


def namespace(op, raw_op=None):
    """The arguments every case is called with."""
    return {"OP": op, "RAW": raw_op, "w": tf.ones([3, 3, 2, 3]), "dy": tf.ones([1, 4, 4, 3])}


def outcome(case, ns, in_function=False):
    """What calling `case` did (inside a tf.function if asked):
    {"exc": class name, "msg": ...} or {"shape": [...], "values": [...]}."""
    try:
        if in_function:
            result = tf.function(lambda: case(**ns))()
        else:
            result = case(**ns)
    except Exception as err:  # pylint: disable=broad-except
        return {"exc": type(err).__name__, "msg": str(err)[:400]}
    value = result.numpy()
    return {"shape": list(value.shape),
            "values": sorted({float(v) for v in value.ravel()[:100000]})[:10]}


def check_dangerous_outcome(name, got):
    """Asserts that our op did what DANGEROUS[name] requires."""
    assert got.get("status") not in ("crash", "hang"), (
        f"{name} {got.get('status')}ed the process: {got}")
    expected = DANGEROUS[name][1]
    if isinstance(expected, tuple):
        _, shape, value = expected
        assert "exc" not in got, f"{name}: expected a result filled with {value}, got {got}"
        assert got["shape"] == shape, got
        assert got["values"] == ([value] if np.prod(shape) else []), got
    else:
        assert got.get("exc") == expected, f"{name}: expected {expected}, got {got}"


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
    record_calls(results_path, skip, len(names), lambda i: outcome(DANGEROUS[names[i]][0], ns))
