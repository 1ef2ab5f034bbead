"""`--xla`: the op inside graphs that XLA compiles.

Per layer (float32 NHWC), interleaved, best of N, in one process:
  ours          our op, eagerly (outside XLA)
  ours_graph    our op in a plain tf.function (outside XLA, a graph call as
                the compiled one is: the same dispatch to compare against)
  ours_xla      our op in tf.function(jit_compile=True): XLA's custom call of
                our kernel (cc/xla/)
  tf_xla        TF's op in tf.function(jit_compile=True): XLA's own lowering
Each on 1 thread and on --threads threads (a process each), so the table
shows the multi-thread speedup under XLA beside the one outside it.
"""
import sys
import time

import tensorflow as tf

import tf_custom_op
from tf_custom_op.benchmark.report import distribution, geomean

TARGET = "tf_custom_op_conv2d_backprop_input_host"


def _functions(case):
    args = case.arguments()
    sizes = [int(v) for v in args["input_sizes"].numpy()]
    attrs = {k: args[k] for k in ("strides", "padding", "data_format", "dilations")}

    def ours_call(w, dy):
        return tf_custom_op.conv2d_backprop_input(sizes, w, dy, **attrs)

    def tf_call(w, dy):
        return tf.compat.v1.nn.conv2d_backprop_input(sizes, w, dy, **attrs)

    return (args["filter"], args["out_backprop"]), {
        "ours": ours_call,
        "ours_graph": tf.function(ours_call),
        "ours_xla": tf.function(ours_call, jit_compile=True),
        "tf_xla": tf.function(tf_call, jit_compile=True),
    }


def _time_once(fn, inputs):
    start = time.perf_counter()
    fn(*inputs).numpy()  # .numpy(): wait for the result, eager or compiled
    return time.perf_counter() - start


def time_case(case, repeats, min_seconds):
    """{"ours", "ours_graph", "ours_xla", "tf_xla": best seconds or None, "lowered": the
    compiled HLO holds our custom call, "bit_equal": ours_xla == ours,
    "tf_xla_error": why XLA refused TF's op, or None}."""
    inputs, fns = _functions(case)
    plain = fns["ours"](*inputs).numpy()
    compiled = fns["ours_xla"](*inputs).numpy()
    hlo = fns["ours_xla"].experimental_get_compiler_ir(*inputs)(stage="hlo")
    result = {"lowered": TARGET in hlo,
              "bit_equal": bool((plain.view("uint8") == compiled.view("uint8")).all()),
              "tf_xla_error": None}
    names = ["ours", "ours_graph", "ours_xla", "tf_xla"]
    try:
        fns["tf_xla"](*inputs).numpy()
    except (tf.errors.OpError, ValueError) as err:
        result["tf_xla_error"] = type(err).__name__ + ": " + str(err).splitlines()[0][:80]
        names.remove("tf_xla")
    best = {name: float("inf") for name in names}
    started, done = time.perf_counter(), 0
    while done < repeats or time.perf_counter() - started < min_seconds:
        for name in names:
            best[name] = min(best[name], _time_once(fns[name], inputs))
        done += 1
    result.update({name: best.get(name) for name in ("ours", "ours_graph", "ours_xla", "tf_xla")})
    return result


def worker(cases, repeats, min_seconds):
    results = []
    for case in cases:
        results.append(time_case(case, repeats, min_seconds))
        print(f"  timed {case.name} under XLA", file=sys.stderr, flush=True)
    return results


def rows_of(cases, one, many, threads):
    rows = []
    for case, r1, rn in zip(cases, one, many):
        row = {"layer": case.name, "set": case.layer.get("set"),
               "gflop": case.flops / 1e9, "lowered": rn["lowered"] and r1["lowered"],
               "bit_equal": rn["bit_equal"] and r1["bit_equal"],
               "ours_ms": rn["ours_xla"] * 1e3, "plain_ms": rn["ours"] * 1e3,
               "graph_ms": rn["ours_graph"] * 1e3,
               "tf_xla_ms": rn["tf_xla"] and rn["tf_xla"] * 1e3,
               "tf_xla_error": rn["tf_xla_error"]}
        row["ratio_tf_xla"] = rn["tf_xla"] and rn["tf_xla"] / rn["ours_xla"]
        row["xla_vs_plain"] = rn["ours_graph"] / rn["ours_xla"]
        row["speedup_xla"] = r1["ours_xla"] / rn["ours_xla"]
        row["speedup_plain"] = r1["ours_graph"] / rn["ours_graph"]
        rows.append(row)
    return rows


def _cell(value, spec):
    return format(value, spec) if value is not None else "-".rjust(len(format(0.0, spec)))


def print_rows(rows, threads, repeats, file=None):
    file = file or sys.stdout
    print(f"\nUnder XLA (jit_compile=True), float32 NHWC, {threads} threads, best of "
          f"{repeats}+; ratios = TF's XLA time / ours under XLA, ours in a plain tf.function "
          f"(fn) / ours under XLA; eager: ours called eagerly; speedup = 1 thread / {threads} "
          f"threads (under XLA, and in a plain tf.function)", file=file)
    head = (f"{'layer':<26}{'GFLOP':>7}{'ours ms':>9}{'XLA-TF ms':>10}{'xTF-XLA':>8}"
            f"{'fn ms':>8}{'eager':>8}{'fn/XLA':>7}{'spd XLA':>8}{'spd fn':>8}  custom call")
    print(head, file=file)
    print("-" * len(head), file=file)
    for r in rows:
        note = ("yes" if r["lowered"] else "NO") + ("" if r["bit_equal"] else ", NOT bit-equal")
        if r["tf_xla_error"]:
            note += f"; XLA refused TF's op ({r['tf_xla_error']})"
        print(f"{r['layer']:<26}{r['gflop']:>7.2f}{r['ours_ms']:>9.2f}"
              f"{_cell(r['tf_xla_ms'], '10.2f')}{_cell(r['ratio_tf_xla'], '8.2f')}"
              f"{r['graph_ms']:>8.2f}{r['plain_ms']:>8.2f}{r['xla_vs_plain']:>7.2f}"
              f"{r['speedup_xla']:>8.2f}"
              f"{r['speedup_plain']:>8.2f}  {note}", file=file)
    against_tf = distribution(rows, key="ratio_tf_xla", tf_ms="tf_xla_ms")
    own = [r["xla_vs_plain"] for r in rows]
    print(f"\nours under XLA vs XLA's lowering of TF's op: {against_tf['layers']} layers, geomean "
          f"{_cell(against_tf['geomean'], '.2f')}x, p10 {_cell(against_tf['p10'], '.2f')}x, "
          f"min {_cell(against_tf['min'], '.2f')}x, FLOP-weighted "
          f"{_cell(against_tf['weighted'], '.2f')}x", file=file)
    print(f"ours under XLA vs ours in a plain tf.function: geomean {geomean(own):.3f}, min "
          f"{min(own):.3f} (1.0: as fast; the target is within 5%, >= 0.95)", file=file)
    print(f"{threads}-thread speedup: under XLA geomean "
          f"{geomean([r['speedup_xla'] for r in rows]):.2f}, in a plain tf.function "
          f"{geomean([r['speedup_plain'] for r in rows]):.2f}", file=file)
    return {"against_tf_xla": against_tf, "xla_vs_plain_geomean": geomean(own),
            "xla_vs_plain_min": min(own)}
