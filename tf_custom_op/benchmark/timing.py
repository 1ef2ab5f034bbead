"""Interleaved best-of-N timing of our op and TF's built-in op."""
import time

import tensorflow as tf

import tf_custom_op


def _ours(args):
    return tf_custom_op.conv2d_backprop_input(**args)


def _builtin(args):
    return tf.compat.v1.nn.conv2d_backprop_input(**args)


def _time_once(fn, args):
    start = time.perf_counter()
    fn(args)  # eager CPU ops run synchronously
    return time.perf_counter() - start


def _in_float64(args):
    return dict(args, filter=tf.cast(args["filter"], tf.float64),
                out_backprop=tf.cast(args["out_backprop"], tf.float64))


def time_case(case, repeats, min_seconds=0.0):
    """Returns {"ours": s, "tf": s or None, "tf_error": str or None, "max_err": float}.

    Both ops are warmed up, then timed alternately (ours, TF, ours, TF, ...) so
    that the machine's noise hits both alike; the best time of each is kept.
    """
    args = case.arguments()
    ours = _ours(args)
    result = {"ours": None, "tf": None, "tf_error": None, "max_err": None, "err64": None}
    try:
        reference = _builtin(args)
        scale = float(tf.reduce_max(tf.abs(tf.cast(reference, tf.float64)))) or 1.0
        diff = tf.abs(tf.cast(ours, tf.float64) - tf.cast(reference, tf.float64))
        result["max_err"] = float(tf.reduce_max(diff)) / scale
    except (tf.errors.OpError, ValueError) as err:
        result["tf_error"] = type(err).__name__ + ": " + str(err).splitlines()[0][:80]
    if case.dtype == "float32":
        # Against the same sums in float64 (TF's op in double, where it
        # computes the layer): the Winograd bound of docs/CONTRACT.md.
        try:
            exact = _builtin(_in_float64(args))
            scale64 = float(tf.reduce_max(tf.abs(exact))) or 1.0
            result["err64"] = float(tf.reduce_max(tf.abs(tf.cast(ours, tf.float64) - exact))) / scale64
        except (tf.errors.OpError, ValueError):
            pass
    best_ours, best_tf = float("inf"), float("inf")
    started = time.perf_counter()
    done = 0
    while done < repeats or time.perf_counter() - started < min_seconds:
        best_ours = min(best_ours, _time_once(_ours, args))
        if result["tf_error"] is None:
            best_tf = min(best_tf, _time_once(_builtin, args))
        done += 1
    result["ours"] = best_ours
    if result["tf_error"] is None:
        result["tf"] = best_tf
    return result


def time_ours_with_split(case, repeats, min_seconds=0.0):
    """Our op alone: {"ours": best s, "serial": s per call outside the thread
    pool, "parallel": s per call inside it} (the library's own clocks,
    averaged over the timed calls)."""
    from tf_custom_op import _loader
    args = case.arguments()
    _ours(args)
    _loader.cpu_run_times(reset=True)
    best = float("inf")
    started = time.perf_counter()
    done = 0
    while done < repeats or time.perf_counter() - started < min_seconds:
        best = min(best, _time_once(_ours, args))
        done += 1
    split = _loader.cpu_run_times(reset=True)
    calls = max(split["calls"], 1)
    return {"ours": best, "serial": split["serial_s"] / calls,
            "parallel": split["parallel_s"] / calls}


def stream_bandwidth_gbs(megabytes=256, repeats=7):
    """Memory bandwidth as TF's own element-wise kernels reach it on the
    configured threads: `v.assign_add(x)` over two arrays of `megabytes`
    each (read both, write one, in place: no allocation in the timing),
    best of `repeats`, in GB/s. The memory side of each layer's roofline.
    """
    n = megabytes * 2**20 // 4
    v = tf.Variable(tf.zeros([n]))
    x = tf.ones([n])

    @tf.function
    def add():
        v.assign_add(x)

    add()
    best = min(_time_once(lambda _: add(), None) for _ in range(repeats))
    return 3 * n * 4 / best / 1e9
