"""Smoke check of one build of the op library, in a process of its own.

    python build_tools/smoke_check.py --library PATH [--json OUT]

Loads the op library at PATH (through TF_CUSTOM_OP_LIBRARY, as users do),
checks which devices have kernels (GPU when built with CUDA, the XLA devices
the library lowers the op for), runs a few
small problems (NHWC/NCHW, strides, SAME/VALID/explicit padding,
float32/float64/half) and compares each with TensorFlow's own
conv2d_backprop_input. Prints (and with --json writes) a summary with a hash of
every result so that two builds can be compared bit for bit; exits non-zero if
a result is wrong. One library per process: two libraries registering the same
op cannot be loaded together. Used by tests/test_build_smoke.py (setup.py and
Bazel builds in turn) and by Bazel's //:smoke_test.
"""
import argparse
import hashlib
import json
import os
import sys

# The package next to this script (the source tree, or Bazel's runfiles).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# (name, x_shape, filter_shape, strides, padding, data_format, dtype)
CASES = [
    ("nhwc_s2_same_f32", [2, 9, 10, 6], [3, 3, 6, 5], [1, 2, 2, 1], "SAME", "NHWC", "float32"),
    ("nhwc_s1_valid_f64", [1, 7, 7, 3], [3, 2, 3, 4], [1, 1, 1, 1], "VALID", "NHWC", "float64"),
    ("nhwc_s3_explicit_f32", [1, 11, 8, 4], [2, 3, 4, 3], [1, 3, 2, 1],
     [[0, 0], [1, 2], [0, 1], [0, 0]], "NHWC", "float32"),
    ("nchw_s2_same_f32", [2, 5, 8, 9], [3, 3, 5, 7], [1, 1, 2, 2], "SAME", "NCHW", "float32"),
    ("nhwc_s2_valid_f16", [1, 8, 8, 4], [3, 3, 4, 4], [1, 2, 2, 1], "VALID", "NHWC", "float16"),
]
TOLERANCE = {"float16": 2e-2, "float32": 1e-4, "float64": 1e-10}


def _reference(tf, x_shape, w, dy, strides, padding, data_format):
    """TensorFlow's result, computed in NHWC (its CPU kernels lack NCHW)."""
    if data_format == "NCHW":
        n, c, h, wd = x_shape
        dy_nhwc = tf.transpose(dy, [0, 2, 3, 1])
        st = [1, strides[2], strides[3], 1]
        ref = _reference(tf, [n, h, wd, c], w, dy_nhwc, st, padding, "NHWC")
        return tf.transpose(ref, [0, 3, 1, 2])
    if w.dtype == tf.float16:
        ref = tf.compat.v1.nn.conv2d_backprop_input(
            x_shape, tf.cast(w, tf.float32), tf.cast(dy, tf.float32), strides, padding)
        return tf.cast(ref, tf.float16)
    return tf.compat.v1.nn.conv2d_backprop_input(x_shape, w, dy, strides, padding)


def run(library):
    os.environ["TF_CUSTOM_OP_LIBRARY"] = os.path.abspath(library)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf
    import tf_custom_op
    from tf_custom_op import _loader

    rng = np.random.default_rng(0)
    from tensorflow.python.framework import kernels

    tf_custom_op.op_module()
    registered = kernels.get_registered_kernels_for_op(tf_custom_op.OP_NAME).kernel
    summary = {
        # e.g. {"CPU": 5, "GPU": 5}: GPU kernels are registered (not run)
        # even without a GPU, so this shows whether the CUDA kernel is in.
        "kernels": {d: sum(1 for k in registered if k.device_type == d)
                    for d in sorted({k.device_type for k in registered})},
        "library": tf_custom_op.library_path(),
        "build_info": tf_custom_op.build_info(),
        # The devices whose XLA compilation the library lowers the op for.
        "xla_lowering": sorted(_loader.xla_lowering_devices()),
        "op": tf_custom_op.OP_NAME,
        "cases": {},
    }
    ok = True
    for name, x_shape, w_shape, strides, padding, data_format, dtype in CASES:
        w = tf.constant(rng.standard_normal(w_shape).astype(dtype))
        # dy's shape: from TensorFlow's forward convolution of a zero input.
        if data_format == "NCHW":
            n, c, h, wd = x_shape
            fwd_x, fwd_strides = [n, h, wd, c], [1, strides[2], strides[3], 1]
        else:
            fwd_x, fwd_strides = x_shape, strides
        fwd_padding = padding
        if isinstance(padding, list) and data_format == "NCHW":
            fwd_padding = [padding[0], padding[2], padding[3], padding[1]]
        dy_nhwc_shape = tf.nn.conv2d(tf.zeros(fwd_x, tf.float32), tf.cast(w, tf.float32),
                                     fwd_strides, fwd_padding).shape.as_list()
        if data_format == "NCHW":
            dy_shape = [dy_nhwc_shape[0], dy_nhwc_shape[3], dy_nhwc_shape[1], dy_nhwc_shape[2]]
        else:
            dy_shape = dy_nhwc_shape
        dy = tf.constant(rng.standard_normal(dy_shape).astype(dtype))

        got = tf_custom_op.conv2d_backprop_input(x_shape, w, dy, strides=strides,
                                                 padding=padding, data_format=data_format)
        want = _reference(tf, x_shape, w, dy, strides, padding, data_format)
        got_np, want_np = got.numpy(), want.numpy()
        scale = max(1.0, float(np.max(np.abs(want_np.astype(np.float64)))))
        err = float(np.max(np.abs(got_np.astype(np.float64) - want_np.astype(np.float64)))) / scale
        passed = list(got_np.shape) == list(want_np.shape) and err <= TOLERANCE[dtype]
        ok = ok and passed
        summary["cases"][name] = {
            "shape": list(got_np.shape),
            "max_rel_error": err,
            "passed": passed,
            "sum": float(np.sum(got_np.astype(np.float64))),
            "sha256": hashlib.sha256(np.ascontiguousarray(got_np).tobytes()).hexdigest(),
        }
    # A kernel per device, and its XLA counterpart for each device lowered.
    expected = {"CPU"} | ({"GPU"} if summary["build_info"].get("cuda") else set())
    expected |= {f"XLA_{device}_JIT" for device in summary["xla_lowering"]}
    if set(summary["kernels"]) != expected:
        summary["kernel_error"] = f"kernels for {sorted(summary['kernels'])}, expected {sorted(expected)}"
        ok = False
    summary["passed"] = ok
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--library", required=True, help="op library (.so) to load")
    parser.add_argument("--json", help="also write the summary to this file")
    args = parser.parse_args(argv)
    summary = run(args.library)
    text = json.dumps(summary, indent=2, sort_keys=True)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    if not summary["passed"]:
        print("smoke_check: FAILED for " + args.library, file=sys.stderr)
        return 1
    print("smoke_check: OK for " + args.library, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
