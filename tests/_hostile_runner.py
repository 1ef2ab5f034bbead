"""Runs conv2d_backprop_input cases in a child process and records each outcome.

Used by test_hostile_inputs.py (and runnable by hand for a survey of TF's own
op): malformed inputs may crash an op, so they never run inside pytest. It is
a child of support.processes.run_isolated, the tests' one runner for calls
that may crash or hang their process (start/done lines in a results file).

    python tests/_hostile_runner.py --impl ours|builtin CASES.json ARRAYS_DIR \
        RESULTS.jsonl [--skip N]

Each case is a dict (see test_hostile_inputs.py): tensor specs for
input_sizes / filter / out_backprop, the op's attributes, optional
`wrapper_padding` (what the Python wrapper gets for `padding`) and the modes
to run:
  wrapper        the Python wrapper, eagerly
  raw            the generated raw op function, eagerly (no Python checks)
  function       the raw op inside tf.function with constant inputs
  xla            the same, compiled by XLA (tf.function(jit_compile=True)):
                 our op's XLA kernel and custom call
  graphdef       a hand-built GraphDef, Placeholders of unknown shape fed at
                 run time (the shape function cannot see anything), run in a
                 tf.compat.v1.Session
  graphdef_const the same GraphDef with Const inputs (shape function and
                 grappler's constant folding see the values)
  transpose      tf_custom_op.conv2d_transpose (out_backprop as its input,
                 input_sizes as output_shape), for the cases that TF's
                 advisories reached through tf.nn.conv2d_transpose
"""
import argparse
import json
import os
import resource
import sys
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

BIG_RESULT = 1 << 22  # arrays with more elements are summarised, not saved


def make_array(spec):
    """A numpy array from a tensor spec (see test_hostile_inputs.tensor)."""
    import tensorflow as tf
    dtype = spec["dtype"]
    np_dtype = tf.as_dtype(dtype).as_numpy_dtype
    if "value" in spec:
        return np.array(spec["value"], dtype=np_dtype)
    shape = spec["shape"]
    fill = spec.get("fill", "randint")
    rng = np.random.default_rng(spec.get("seed", 0))
    if fill == "randint":
        data = rng.integers(-3, 4, size=shape).astype(np.float64)
    elif fill == "big_pos":
        # Times a huge positive filter every product is 0 or beyond the largest
        # float, and all have one sign: the result is 0 or +Inf whatever the
        # summation order (and with or without FMA).
        data = rng.choice([0.0, 2.0, 3.0], size=shape)
    elif fill == "zeros":
        data = np.zeros(shape)
    elif fill == "ones":
        data = np.ones(shape)
    elif fill == "constant":
        data = np.full(shape, float(spec["constant"]))
    elif fill == "nonfinite":
        # Integers with NaN, +Inf and -Inf sprinkled at seeded positions.
        data = rng.integers(-3, 4, size=shape).astype(np.float64)
        flat = data.reshape(-1)
        if flat.size:
            picks = rng.choice(flat.size, size=min(flat.size, 3), replace=False)
            for index, value in zip(picks, [np.nan, np.inf, -np.inf]):
                flat[index] = value
    else:
        raise ValueError(f"unknown fill {fill}")
    for index in spec.get("inf_at", []):
        data.reshape(-1)[index] = np.inf
    return data.astype(np_dtype)


def reference_conv(sizes_arr, w, dy, strides, padding, explicit_paddings=(),
                   dilations=(1, 1, 1, 1), data_format="NHWC"):
    """The tests' float64 (int64 for int32) reference (reference.py) for the
    raw op's attributes (flat explicit_paddings), rounded once to the filter's
    dtype. Inf and NaN inputs propagate as IEEE arithmetic says."""
    from support.reference import conv2d_backprop_input_ref  # pylint: disable=import-outside-toplevel
    if padding == "EXPLICIT":
        from tf_custom_op.geometry import padding_pairs  # pylint: disable=import-outside-toplevel
        padding = padding_pairs(explicit_paddings)
    with np.errstate(all="ignore"):
        return conv2d_backprop_input_ref(
            [int(v) for v in sizes_arr], w, dy, strides, padding, data_format, dilations,
            out_dtype=w.dtype)


def _attrs(case):
    return dict(strides=case["strides"], padding=case.get("padding", "VALID"),
                explicit_paddings=case.get("explicit_paddings", []),
                data_format=case.get("data_format", "NHWC"),
                dilations=case.get("dilations", [1, 1, 1, 1]),
                use_cudnn_on_gpu=True)


def _wrapper_padding(case):
    if "wrapper_padding" in case:
        return case["wrapper_padding"]
    padding = case.get("padding", "VALID")
    if padding != "EXPLICIT":
        return padding
    from tf_custom_op.geometry import padding_pairs  # pylint: disable=import-outside-toplevel
    return padding_pairs(case.get("explicit_paddings", []))


def _graphdef(case, op_name, arrays, const):
    import tensorflow as tf
    from tensorflow.core.framework import graph_pb2
    graph_def = graph_pb2.GraphDef()
    names = ["input_sizes", "filter", "out_backprop"]
    for name, array in zip(names, arrays):
        node = graph_def.node.add()
        node.name = name
        dtype = tf.as_dtype(array.dtype)
        if const:
            node.op = "Const"
            node.attr["dtype"].type = dtype.as_datatype_enum
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(array))
        else:
            node.op = "Placeholder"
            node.attr["dtype"].type = dtype.as_datatype_enum
    op = graph_def.node.add()
    op.name = "result"
    op.op = op_name
    op.input.extend(names)
    attrs = _attrs(case)
    op.attr["T"].type = tf.as_dtype(arrays[1].dtype).as_datatype_enum
    op.attr["strides"].list.i.extend(attrs["strides"])
    op.attr["padding"].s = attrs["padding"].encode()
    op.attr["explicit_paddings"].list.i.extend(attrs["explicit_paddings"])
    op.attr["data_format"].s = attrs["data_format"].encode()
    op.attr["dilations"].list.i.extend(attrs["dilations"])
    op.attr["use_cudnn_on_gpu"].b = True
    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    feed = {} if const else {f"{n}:0": a for n, a in zip(names, arrays)}
    with tf.compat.v1.Session(graph=graph) as session:
        return session.run("result:0", feed_dict=feed)


def run_one(case, mode, impl):
    import tensorflow as tf
    import tf_custom_op
    if impl == "ours":
        module = tf_custom_op.op_module()
        wrapper = tf_custom_op.conv2d_backprop_input
        raw = module.tf_custom_op_conv2d_backprop_input
        op_name = tf_custom_op.OP_NAME
    else:
        wrapper = tf.compat.v1.nn.conv2d_backprop_input
        raw = tf.raw_ops.Conv2DBackpropInput
        op_name = "Conv2DBackpropInput"
    arrays = [make_array(case[k]) for k in ("input_sizes", "filter", "out_backprop")]
    if mode == "wrapper":
        tensors = [tf.constant(a) for a in arrays]
        attrs = _attrs(case)
        result = wrapper(tensors[0], tensors[1], tensors[2], strides=attrs["strides"],
                         padding=_wrapper_padding(case), data_format=attrs["data_format"],
                         dilations=attrs["dilations"])
        return result.numpy()
    if mode == "transpose":
        # conv2d_transpose(input=out_backprop, filters=filter, output_shape=input_sizes):
        # how TF's advisories reached the op.
        transpose = tf_custom_op.conv2d_transpose if impl == "ours" else tf.nn.conv2d_transpose
        attrs = _attrs(case)
        return transpose(tf.constant(arrays[2]), tf.constant(arrays[1]), tf.constant(arrays[0]),
                         strides=attrs["strides"], padding=_wrapper_padding(case),
                         data_format=attrs["data_format"], dilations=attrs["dilations"]).numpy()
    if mode == "raw":
        tensors = [tf.constant(a) for a in arrays]
        return raw(input_sizes=tensors[0], filter=tensors[1], out_backprop=tensors[2],
                   **_attrs(case)).numpy()
    if mode in ("function", "xla"):
        @tf.function(jit_compile=mode == "xla")
        def call():
            tensors = [tf.constant(a) for a in arrays]
            return raw(input_sizes=tensors[0], filter=tensors[1], out_backprop=tensors[2],
                       **_attrs(case))
        return call().numpy()
    if mode in ("graphdef", "graphdef_const"):
        return _graphdef(case, op_name, arrays, const=mode == "graphdef_const")
    raise ValueError(f"unknown mode {mode}")


def describe(result, path):
    out = {"status": "ok", "shape": list(result.shape), "dtype": str(result.dtype)}
    if result.size <= BIG_RESULT:
        np.save(path, result)
        out["array"] = path
    else:
        flat = result.reshape(-1)
        out["all_zero"] = bool(not np.any(flat))
    return out


def main(argv=None):
    """Child entry (support.processes.run_isolated): one logged call per
    (case, mode)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--impl", choices=["ours", "builtin"], default="ours")
    parser.add_argument("cases")
    parser.add_argument("arrays")
    parser.add_argument("results")
    parser.add_argument("--skip", type=int, default=0,
                        help="number of (case, mode) calls already done")
    args = parser.parse_args(argv)
    with open(args.cases) as f:
        cases = json.load(f)
    import tensorflow as tf
    from support.processes import record_calls  # pylint: disable=import-outside-toplevel
    if args.impl == "ours":
        import tf_custom_op
        tf_custom_op.op_module()
    calls = [(case, mode) for case in cases for mode in case["modes"]]

    def run_call(index):
        case, mode = calls[index]
        key = {"case": case["name"], "mode": mode}
        try:
            result = run_one(case, mode, args.impl)
            path = os.path.join(args.arrays, f"{args.impl}.{index}.npy")
            record = describe(np.asarray(result), path)
        except (tf.errors.OpError, ValueError, TypeError, NotImplementedError) as err:
            record = {"status": "error", "type": type(err).__name__,
                      "message": str(err).splitlines()[0][:500] if str(err) else ""}
        except Exception as err:  # noqa: BLE001  (recorded, judged by the test)
            record = {"status": "error", "type": type(err).__name__,
                      "message": traceback.format_exc()[-500:]}
        record["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return dict(key, **record)

    record_calls(args.results, args.skip, len(calls), run_call)
    return 0


# ---------------------------------------------------------------------------
# Parent side.

RUNNER = os.path.abspath(__file__)


def _sanitized():
    return "asan" in os.environ.get("LD_PRELOAD", "")


def drive(cases, impl, workdir, call_timeout=120.0, memory_limit=12 << 30, env=None):
    """Runs every (case, mode) of `cases` with `impl` in child processes
    (support.processes.run_isolated: restarted after a crash or a hang).

    Returns {(case name, mode): record}; a record's "status" is "ok", "error",
    "crash" (the child died: signal or exit code and its stderr tail) or "hang"
    (killed after `call_timeout` seconds). The child's address space is capped
    at `memory_limit` bytes (not under AddressSanitizer, whose shadow memory
    needs terabytes of address space) so that a runaway allocation fails
    instead of exhausting the shared machine.
    """
    from support.processes import run_isolated  # pylint: disable=import-outside-toplevel
    os.makedirs(workdir, exist_ok=True)
    cases_path = os.path.join(workdir, f"{impl}.cases.json")
    arrays_dir = os.path.join(workdir, "arrays")
    os.makedirs(arrays_dir, exist_ok=True)
    with open(cases_path, "w") as f:
        json.dump(cases, f)
    calls = [(case["name"], mode) for case in cases for mode in case["modes"]]
    env = dict(os.environ if env is None else env)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    records = run_isolated([RUNNER, "--impl", impl, cases_path, arrays_dir], len(calls),
                           workdir, call_timeout=call_timeout,
                           memory_limit=None if _sanitized() else memory_limit, env=env,
                           label=impl)
    return dict(zip(calls, records))


if __name__ == "__main__":
    sys.exit(main())
