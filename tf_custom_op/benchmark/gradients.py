"""`python -m tf_custom_op.benchmark.gradients`: the op's gradient (w.r.t. the
filter and out_backprop) against the gradient of TF's built-in op, in the
same process, interleaved, best of N.

The gradient needs a forward convolution and a filter gradient; where TF's
own kernels run the configuration ours uses them too, so the two should tie;
where TF refuses (NCHW on CPU without oneDNN, dilation, groups) only ours is
timed. Run with TF_ENABLE_ONEDNN_OPTS=0 or =1 to pick TF's CPU kernels.
"""
import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# (label, layer name in layers.json, dtype, data format)
CASES = [
    ("resnet3x3_56 NHWC", "resnet3x3_56", "float32", "NHWC"),
    ("dcgan_up4x4s2 NHWC", "dcgan_up4x4s2", "float32", "NHWC"),
    ("small_b1 NHWC", "small_b1", "float32", "NHWC"),
    ("resnet3x3_56 NCHW", "resnet3x3_56", "float32", "NCHW"),
    ("dil2 NHWC", "dil2", "float32", "NHWC"),
    ("resnet3x3_56 float16", "resnet3x3_56", "float16", "NHWC"),
]


def _gradient_fn(op, args):
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    w, dy = args["filter"], args["out_backprop"]
    rest = {k: v for k, v in args.items() if k not in ("filter", "out_backprop")}
    upstream = tf.ones(tf.cast(args["input_sizes"], tf.int32), w.dtype)

    @tf.function
    def gradients(w, dy):
        with tf.GradientTape() as tape:
            tape.watch([w, dy])
            loss = tf.reduce_sum(op(filter=w, out_backprop=dy, **rest) * upstream)
        return tape.gradient(loss, [w, dy])

    return lambda: [g.numpy() for g in gradients(w, dy)]


def _best(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import tf_custom_op  # pylint: disable=import-outside-toplevel
    from tf_custom_op.benchmark import suite  # pylint: disable=import-outside-toplevel
    from tensorflow.python.util import _pywrap_util_port  # pylint: disable=import-outside-toplevel,no-name-in-module

    layers = {c.layer["name"]: c.layer for c in suite.load_cases("layers", headline_only=True)}
    print(f"gradient of conv2d_backprop_input, {args.threads} threads, best of {args.repeats}, "
          f"TF oneDNN {'on' if _pywrap_util_port.IsMklEnabled() else 'off'}")
    print(f"{'case':24} {'ours ms':>9} {'TF ms':>9} {'TF/ours':>8}")
    for label, name, dtype, data_format in CASES:
        arguments = suite.Case(layers[name], dtype, data_format).arguments()
        ours = _gradient_fn(tf_custom_op.conv2d_backprop_input, arguments)
        theirs = _gradient_fn(tf.compat.v1.nn.conv2d_backprop_input, arguments)
        ours()
        try:
            theirs()
        except (tf.errors.OpError, ValueError):
            theirs = None
        best_ours = best_tf = float("inf")
        for _ in range(args.repeats):  # interleaved: noise hits both alike
            best_ours = min(best_ours, _best(ours, 1))
            if theirs is not None:
                best_tf = min(best_tf, _best(theirs, 1))
        tf_text = f"{best_tf * 1e3:9.2f} {best_tf / best_ours:7.2f}x" if theirs else \
            f"{'refused':>9} {'':>8}"
        print(f"{label:24} {best_ours * 1e3:9.2f} {tf_text}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
