"""Table, geomean, JSON and bar chart of a benchmark run."""
import json
import math


def geomean(values):
    values = [v for v in values if v]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


def percentile(values, q):
    """The q-th percentile (0-100) of values, linearly interpolated."""
    values = sorted(v for v in values if v)
    if not values:
        return None
    at = (len(values) - 1) * q / 100.0
    low = int(math.floor(at))
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (at - low)


def distribution(rows, key="ratio_tf", tf_ms="tf_ms"):
    """How the ratios of `rows` are spread: count, geomean, p10, min, and the
    FLOP-weighted ratio (TF's total time over ours: what a model's step
    pays); layers TF refused are counted apart."""
    compared = [r for r in rows if r.get(key)]
    ratios = [r[key] for r in compared]
    ours_total = sum(r["ours_ms"] for r in compared)
    return {
        "layers": len(compared),
        "refused": len(rows) - len(compared),
        "geomean": geomean(ratios),
        "p10": percentile(ratios, 10),
        "min": min(ratios) if ratios else None,
        "weighted": (sum(r[tf_ms] for r in compared) / ours_total) if ours_total else None,
    }


def _groups(rows):
    """Rows by (dtype, data_format), float32 NHWC first; the fp32 NHWC rows
    also by the layer file's set (e.g. corpus / own) when it has several."""
    groups = {}
    for r in rows:
        groups.setdefault(f"{r['dtype']} {r['data_format']}", []).append(r)
    ordered = {"float32 NHWC": groups.pop("float32 NHWC", [])}
    headline = ordered["float32 NHWC"]
    sets = sorted({r.get("set") for r in headline if r.get("set")})
    if len(sets) > 1:
        for name in sets:
            ordered[f"float32 NHWC, set {name}"] = [r for r in headline if r.get("set") == name]
    ordered.update(groups)
    return {k: v for k, v in ordered.items() if v}


def _fmt(value, spec):
    if value is None:
        width = "".join(ch for ch in spec.split(".")[0] if ch.isdigit())
        return "-".rjust(int(width or 1))
    return format(value, spec)


def roofline_ms(case, peak, bandwidth):
    """The least time the layer can take on this machine with a direct
    convolution: the FLOPs that read data (Case.data_flops: padding taps
    skipped) at the FMA peak, or its least memory traffic (Case.min_bytes)
    at the streaming bandwidth, whichever is longer; and which of the two
    bounds it ("fma" or "mem"). Only for float32, the dtype the peak is
    measured in. Winograd does fewer multiplications and can beat it."""
    if case.dtype != "float32" or not peak or not bandwidth:
        return None, None
    compute_ms = case.data_flops / (peak * 1e9) * 1e3
    memory_ms = case.min_bytes / (bandwidth * 1e9) * 1e3
    return max(compute_ms, memory_ms), ("mem" if memory_ms > compute_ms else "fma")


def rows_of(cases, results, off_results, peak, threads, kernels, bandwidth=None):
    rows = []
    for case, res, off in zip(cases, results, off_results or [None] * len(cases)):
        ours_gf = case.flops / res["ours"] / 1e9
        roof_ms, bound = roofline_ms(case, peak, bandwidth)
        row = {
            "layer": case.name, "dtype": case.dtype, "data_format": case.data_format,
            "gflop": case.flops / 1e9,
            "ours_ms": res["ours"] * 1e3, "ours_gflops": ours_gf,
            "pct_peak": 100.0 * ours_gf / peak if peak else None,
            "tf_ms": res["tf"] * 1e3 if res["tf"] else None,
            "tf_gflops": case.flops / res["tf"] / 1e9 if res["tf"] else None,
            "ratio_tf": res["tf"] / res["ours"] if res["tf"] else None,
            "tf_error": res["tf_error"], "max_rel_err": res["max_err"],
            "err64": res.get("err64"), "algorithm": case.algorithm(),
            "extra_mb": case.extra_memory_bytes(threads, kernels) / 2**20,
            "set": case.layer.get("set"),
            "roof_ms": roof_ms, "bound": bound,
        }
        if off is not None:
            row["tf_off_ms"] = off["tf"] * 1e3 if off["tf"] else None
            row["ratio_tf_off"] = off["tf"] / off["ours"] if off["tf"] else None
            row["tf_off_error"] = off["tf_error"]
        rows.append(row)
    return rows


def print_table(rows, peak, threads, repeats, file=None, min_seconds=0.0, bandwidth=None):
    header = (f"{'layer':32} {'ours ms':>9} {'GFLOP/s':>8} {'%peak':>6} {'TF ms':>9} "
              f"{'xTF':>6} {'TF-off ms':>10} {'xTF-off':>8} {'max err':>9} {'extra MB':>8} "
              f"{'algo':>8} {'err f64':>9} {'roof ms':>8} {'bound':>5}")
    samples = f"best of {repeats}" + (f" (or of {min_seconds:g} s of samples)" if min_seconds else "")
    print(f"threads={threads}  {samples}  FMA peak={peak:.0f} GFLOP/s (measured, "
          f"{threads} core(s), our kernels' vector width; %peak is of it)  "
          "(xTF = TF time / our time, TF-off = TF_ENABLE_ONEDNN_OPTS=0; max err: against "
          "TF's op, of max|dx|; algo: our CPU algorithm; err f64: float32 against TF's op in "
          "float64, of max|dx|)", file=file)
    if bandwidth:
        print(f"memory roof: {bandwidth:.1f} GB/s (TF's assign_add streaming on {threads} "
              "thread(s)); roof ms: the least time a direct convolution can take here, the FLOPs "
              "that read data (padding taps skipped) at the FMA peak or dy, filter and dx moved "
              "once at that bandwidth, whichever is longer (bound: fma or mem; float32 only). "
              "Only Winograd's fewer multiplications go below it; where TF is close to it, so "
              "is any lead over TF.", file=file)
    print(header, file=file)
    print("-" * len(header), file=file)
    for r in rows:
        print(f"{r['layer']:32} {r['ours_ms']:9.3f} {r['ours_gflops']:8.1f} "
              f"{_fmt(r['pct_peak'], '6.1f')} {_fmt(r['tf_ms'], '9.3f')} "
              f"{_fmt(r['ratio_tf'], '6.2f')} {_fmt(r.get('tf_off_ms'), '10.3f')} "
              f"{_fmt(r.get('ratio_tf_off'), '8.2f')} {_fmt(r['max_rel_err'], '9.1e')} "
              f"{r['extra_mb']:8.2f} {r['algorithm']:>8} {_fmt(r.get('err64'), '9.1e')} "
              f"{_fmt(r.get('roof_ms'), '8.3f')} {r.get('bound') or '-':>5}",
              file=file)
    headline = [r for r in rows if r["dtype"] == "float32" and r["data_format"] == "NHWC"]
    g_on = geomean([r["ratio_tf"] for r in headline])
    g_off = geomean([r.get("ratio_tf_off") for r in headline])
    print(f"peak extra memory of the op: {max(r['extra_mb'] for r in rows):.2f} MB", file=file)
    print("distribution of xTF (TF time / ours; weighted = TF's total time / ours, what a "
          "model's step pays):", file=file)
    distributions = {}
    for name, group in _groups(rows).items():
        for label, key, tf_key in (("xTF", "ratio_tf", "tf_ms"), ("xTF-off", "ratio_tf_off",
                                                                   "tf_off_ms")):
            if key == "ratio_tf_off" and not any(key in r for r in group):
                continue
            d = distribution(group, key, tf_key)
            distributions[f"{name} {label}"] = d
            print(f"  {name:28} {label:8} layers {d['layers']:3}  geomean "
                  f"{_fmt(d['geomean'], '5.2f')}  p10 {_fmt(d['p10'], '5.2f')}  min "
                  f"{_fmt(d['min'], '5.2f')}  weighted {_fmt(d['weighted'], '5.2f')}"
                  + (f"  (TF refused {d['refused']})" if d["refused"] else ""), file=file)
    for r in rows:
        for key in ("tf_error", "tf_off_error"):
            if r.get(key):
                print(f"  note: {r['layer']}: TF {'(oneDNN off) ' if 'off' in key else ''}"
                      f"refused it: {r[key]}", file=file)
    return {"geomean_tf": g_on, "geomean_tf_off": g_off, "distributions": distributions}


def write_json(path, rows, summary, meta):
    with open(path, "w") as f:
        json.dump({"meta": meta, "summary": summary, "rows": rows}, f, indent=2)


def write_chart(path, rows, peak, threads=None):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = [r["layer"] for r in rows]
    ours = [r["ours_gflops"] for r in rows]
    tf_on = [r["tf_gflops"] or 0 for r in rows]
    tf_off = [r["ours_gflops"] / r["ratio_tf_off"] if r.get("ratio_tf_off") else 0 for r in rows]
    x = range(len(rows))
    fig, ax = plt.subplots(figsize=(max(8, len(rows) * 0.9), 5))
    width = 0.27
    ax.bar([i - width for i in x], ours, width, label="tf_custom_op")
    ax.bar(list(x), tf_on, width, label="TF built-in (oneDNN)")
    ax.bar([i + width for i in x], tf_off, width, label="TF built-in (oneDNN off)")
    if peak:
        cores = f", {threads} core(s)" if threads else ""
        ax.axhline(peak, color="gray", linestyle="--", linewidth=1,
                   label=f"FMA peak (measured in registers{cores})")
    ax.set_xticks(list(x))
    ax.set_xticklabels(names, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("GFLOP/s")
    ax.set_title("conv2d_backprop_input")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def scaling_rows(cases, one, many, threads):
    """Per layer: our time on 1 and on `threads` threads, the speedup, the
    time outside the thread pool (at `threads`) and the speedup Amdahl's law
    allows at 64 cores given that serial time."""
    rows = []
    for case, r1, rn in zip(cases, one, many):
        t1, tn, serial = r1["ours"], rn["ours"], rn["serial"]
        parallel_work = max(t1 - r1["serial"], 0.0)
        rows.append({
            "layer": case.name, "gflop": case.flops / 1e9,
            "t1_ms": t1 * 1e3, "tn_ms": tn * 1e3, "speedup": t1 / tn,
            "serial_ms": serial * 1e3, "serial_share": serial / tn,
            "amdahl_64": t1 / (serial + parallel_work / 64.0) if t1 else None,
        })
    return rows


def print_scaling(rows, threads, file=None):
    print(f"our op alone; serial = time outside the thread pool per call (at {threads} threads); "
          "Amdahl 64 = the speedup over 1 thread that serial time allows on 64 cores", file=file)
    print(f"{'layer':32} {'GFLOP':>6} {'1 thr ms':>9} {f'{threads} thr ms':>9} {'speedup':>8} "
          f"{'serial ms':>9} {'serial %':>8} {'Amdahl 64':>9}", file=file)
    for r in rows:
        print(f"{r['layer']:32} {r['gflop']:6.2f} {r['t1_ms']:9.3f} {r['tn_ms']:9.3f} "
              f"{r['speedup']:8.2f} {r['serial_ms']:9.3f} {100 * r['serial_share']:7.1f}% "
              f"{r['amdahl_64']:9.1f}", file=file)
