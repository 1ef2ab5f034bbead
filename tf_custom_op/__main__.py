"""`python -m tf_custom_op`: the main job.

1. Checks the op against TF's built-in op on a handful of configurations
   (strided, dilated, explicit padding, every dtype) and prints the max error;
   checks that under XLA (tf.function(jit_compile=True)) the op gives the same
   bits (our kernel through its XLA custom call).
2. Runs the short benchmark (the float32 NHWC layers of the corpus, ours vs
   TF's built-in with oneDNN on and off) and prints its table.
Pass --full for the whole suite (all variants), --no-bench to skip timing.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CHECKS = [
    # (label, input NHWC, filter RSCK, stride, dilation, padding, dtype)
    ("3x3 s1 SAME", [2, 9, 9, 8], [3, 3, 8, 16], 1, 1, "SAME", "float32"),
    ("3x3 s2 VALID", [2, 11, 10, 5], [3, 3, 5, 7], 2, 1, "VALID", "float32"),
    ("4x4 s2 SAME", [1, 8, 8, 16], [4, 4, 16, 8], 2, 1, "SAME", "float32"),
    ("1x1 s1", [3, 7, 7, 12], [1, 1, 12, 24], 1, 1, "VALID", "float32"),
    ("3x3 explicit pad", [2, 8, 7, 4], [3, 3, 4, 6], 1, 1, [[0, 0], [1, 2], [0, 1], [0, 0]], "float32"),
    ("3x3 float64", [2, 9, 9, 8], [3, 3, 8, 16], 2, 1, "SAME", "float64"),
    ("3x3 float16", [2, 9, 9, 8], [3, 3, 8, 16], 1, 1, "SAME", "float16"),
    ("3x3 bfloat16", [2, 9, 9, 8], [3, 3, 8, 16], 1, 1, "SAME", "bfloat16"),
    ("3x3 int32", [2, 6, 6, 3], [3, 3, 3, 4], 2, 1, "SAME", "int32"),
]


def _check_against_builtin():
    import numpy as np
    import tensorflow as tf
    import tf_custom_op
    from tf_custom_op import _routing

    rng = np.random.default_rng(0)
    # One jit function per check is the point here, not a retracing mistake.
    tf.get_logger().setLevel("ERROR")
    lowered = _routing.xla_lowering_serves()
    print(f"{'check':22} {'dtype':9} {'max abs err':>12} {'rel':>9}  {'under XLA':10} result")
    failures = 0
    for label, x_shape, w_shape, stride, dilation, padding, dtype in CHECKS:
        w = rng.integers(-3, 4, w_shape) if dtype == "int32" else rng.standard_normal(w_shape)
        x = rng.standard_normal(x_shape)
        strides = [1, stride, stride, 1]
        dilations = [1, dilation, dilation, 1]
        dy_shape = tf.nn.conv2d(tf.constant(x, tf.float32), tf.constant(w, tf.float32),
                                strides, padding, dilations=dilations).shape
        dy = rng.integers(-3, 4, dy_shape) if dtype == "int32" else rng.standard_normal(dy_shape)
        args = dict(input_sizes=x_shape, filter=tf.cast(w, dtype), out_backprop=tf.cast(dy, dtype),
                    strides=strides, padding=padding, dilations=dilations)
        ours_native = tf_custom_op.conv2d_backprop_input(**args)
        ours = tf.cast(ours_native, tf.float64).numpy()
        xla = "n/a"
        if lowered:
            # The same bits through XLA's custom call of our kernel.
            jitted = tf.function(lambda w, dy, a=args: tf_custom_op.conv2d_backprop_input(
                **dict(a, filter=w, out_backprop=dy)), jit_compile=True)
            same = np.array_equal(jitted(args["filter"], args["out_backprop"]).numpy(),
                                  ours_native.numpy())
            xla = "same bits" if same else "DIFFERS"
        theirs = tf.cast(tf.compat.v1.nn.conv2d_backprop_input(**args), tf.float64).numpy()
        err = float(np.max(np.abs(ours - theirs))) if ours.size else 0.0
        rel = err / max(float(np.max(np.abs(theirs))), 1e-12) if ours.size else 0.0
        tol = {"float32": 1e-5, "float64": 1e-12, "float16": 1e-2, "bfloat16": 5e-2, "int32": 0.0}[dtype]
        ok = rel <= tol and xla != "DIFFERS"
        failures += not ok
        print(f"{label:22} {dtype:9} {err:12.3e} {rel:9.2e}  {xla:10} {'ok' if ok else 'MISMATCH'}")
    return failures


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    failures = _check_against_builtin()
    if failures:
        print(f"{failures} configuration(s) differ from TF's built-in op")
        return 1
    print("all checks match TF's built-in op\n")
    if "--no-bench" in argv:
        return 0
    from tf_custom_op.benchmark.__main__ import main as bench_main
    # The corpus's float32 layers (33) with oneDNN on and off: a third of a
    # second of samples per layer keeps the main job to a few minutes.
    bench_args = ["--repeats", "5"] if "--full" in argv else \
        ["--short", "--repeats", "5", "--min-seconds", "0.3"]
    return bench_main(bench_args)


if __name__ == "__main__":
    sys.exit(main())
