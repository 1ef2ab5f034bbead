"""`python -m tf_custom_op.benchmark`: our op vs TF's built-in, same process.

Runs a layer file (the package's corpus.json by default, layers.json with
`layers`, or a file given), timing our
op and TF's built-in op interleaved, best of N; then repeats the timing in a
subprocess with TF_ENABLE_ONEDNN_OPTS=0 (TF's Eigen path, what non-x86 users
get). Prints a table, writes JSON and a bar chart PNG.
"""
import argparse
import json
import os
import subprocess
import sys


def _parse(argv):
    parser = argparse.ArgumentParser(prog="python -m tf_custom_op.benchmark", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("layers", nargs="?", default=None,
                        help="a layer file, or 'corpus' (the default: layers as real networks "
                             "run them) or 'layers' (the first eight-layer suite), both shipped "
                             "in the package")
    parser.add_argument("--threads", type=int, default=2, help="TF intra-op threads (default 2)")
    parser.add_argument("--repeats", type=int, default=7, help="timings per op, best kept (default 7)")
    parser.add_argument("--min-seconds", type=float, default=1.0,
                        help="keep timing a layer until this long has passed (default 1): "
                             "sub-millisecond layers then get hundreds of samples, not 7")
    parser.add_argument("--short", action="store_true", help="only the fp32 NHWC headline layers")
    parser.add_argument("--only", default=None, help="comma-separated layer names to run")
    parser.add_argument("--no-onednn-off", action="store_true", help="skip the oneDNN-off subprocess")
    parser.add_argument("--out", default="bench_results", help="directory for JSON and PNG")
    parser.add_argument("--models", action="store_true",
                        help="time a training step of the DCGAN tutorial and of a small U-Net "
                             "decoder with and without tf_custom_op.patch() instead of layers")
    parser.add_argument("--steps", type=int, default=10,
                        help="--models: timed steps per model and mode (default 10)")
    parser.add_argument("--scaling", action="store_true",
                        help="our op alone on 1 thread and on --threads threads, with the time "
                             "it spends outside its thread pool (an Amdahl bound for more cores)")
    parser.add_argument("--xla", action="store_true",
                        help="our op under tf.function(jit_compile=True) against XLA's lowering "
                             "of TF's op and against our op outside XLA, on 1 and --threads "
                             "threads (float32 NHWC layers)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    # --worker also measures the machine's ceilings (FMA peak, bandwidth).
    parser.add_argument("--ceilings", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--xla-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--scaling-worker", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _setup_threads(threads):
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def _select(cases, args):
    if args.only:
        names = set(args.only.split(","))
        cases = [c for c in cases if c.layer["name"] in names]
    return cases


def _run_cases(args):
    from tf_custom_op.benchmark import suite, timing
    cases = _select(suite.load_cases(args.layers, headline_only=args.short), args)
    results = []
    for case in cases:
        results.append(timing.time_case(case, args.repeats, args.min_seconds))
        print(f"  timed {case.name}", file=sys.stderr, flush=True)
    return cases, results


def _worker(args):
    _setup_threads(args.threads)
    from tf_custom_op.benchmark import timing
    from tf_custom_op import _loader
    out = {}
    if args.ceilings:
        # This core's FMA peak at our kernels' width, times the threads, and
        # the streaming bandwidth: the roofline's two sides.
        out["fma_peak_gflops"] = _loader.cpu_fma_peak_gflops() * args.threads
        out["stream_gbs"] = timing.stream_bandwidth_gbs()
    _, out["results"] = _run_cases(args)
    json.dump(out, sys.stdout)


def _run_worker(argv, onednn):
    """Times every case in a fresh process with oneDNN on or off; the oneDNN-on
    process, the one every run has, also measures the machine's ceilings.

    TF reads TF_ENABLE_ONEDNN_OPTS once, at import, and enables oneDNN by
    default only on some x86 CPUs, so each mode gets its own process with the
    variable set explicitly.
    """
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS="1" if onednn else "0",
               TF_CPP_MIN_LOG_LEVEL="3")
    flags = ["--worker"] + (["--ceilings"] if onednn else [])
    out = subprocess.run([sys.executable, "-m", "tf_custom_op.benchmark"] + flags + argv,
                         env=env, stdout=subprocess.PIPE, check=True)
    return json.loads(out.stdout)


def _models(args):
    _setup_threads(args.threads)
    from tf_custom_op.benchmark import machine, models
    machine.print_description(machine.describe())
    results = models.time_models(steps=args.steps)
    models.print_models(results, args.threads, args.steps)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"models_t{args.threads}.json")
    with open(path, "w") as f:
        json.dump({"threads": args.threads, "steps": args.steps, "models": results}, f, indent=2)
    print(f"wrote {path}")
    return 0


def _on_1_and_n_threads(mode, worker_flag, argv, threads):
    """{threads: the worker's JSON} from `worker_flag` workers (`argv` less
    `mode`) in a process each with 1 and with `threads` intra-op threads."""
    base = [a for a in argv if a != mode]
    by_threads = {}
    for count in sorted({1, threads}):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        out = subprocess.run([sys.executable, "-m", "tf_custom_op.benchmark", worker_flag]
                             + base + ["--threads", str(count)],
                             env=env, stdout=subprocess.PIPE, check=True)
        by_threads[count] = json.loads(out.stdout)
    return by_threads


def _scaling(args, argv):
    from tf_custom_op.benchmark import machine, report, suite
    cases = _select(suite.load_cases(args.layers, headline_only=args.short), args)
    machine.print_description(machine.describe())
    by_threads = _on_1_and_n_threads("--scaling", "--scaling-worker", argv, args.threads)
    rows = report.scaling_rows(cases, by_threads[1], by_threads[args.threads], args.threads)
    report.print_scaling(rows, args.threads)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"scaling_t{args.threads}.json")
    with open(path, "w") as f:
        json.dump({"threads": args.threads, "rows": rows}, f, indent=2)
    print(f"wrote {path}")
    return 0


def _xla(args, argv):
    from tf_custom_op.benchmark import machine, suite, xla
    cases = _select(suite.load_cases(args.layers, headline_only=True), args)
    machine.print_description(machine.describe())
    by_threads = _on_1_and_n_threads("--xla", "--xla-worker", argv, args.threads)
    rows = xla.rows_of(cases, by_threads[1], by_threads[args.threads], args.threads)
    summary = xla.print_rows(rows, args.threads, args.repeats)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"xla_t{args.threads}.json")
    with open(path, "w") as f:
        json.dump({"threads": args.threads, "rows": rows, "summary": summary}, f, indent=2)
    print(f"wrote {path}")
    return 0


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parse(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.worker:
        _worker(args)
        return 0
    if args.scaling_worker:
        _setup_threads(args.threads)
        from tf_custom_op.benchmark import suite, timing
        cases = _select(suite.load_cases(args.layers, headline_only=args.short), args)
        json.dump([timing.time_ours_with_split(c, args.repeats, args.min_seconds) for c in cases],
                  sys.stdout)
        return 0
    if args.xla_worker:
        _setup_threads(args.threads)
        from tf_custom_op.benchmark import suite, xla
        cases = _select(suite.load_cases(args.layers, headline_only=True), args)
        json.dump(xla.worker(cases, args.repeats, args.min_seconds), sys.stdout)
        return 0
    if args.models:
        return _models(args)
    if args.xla:
        return _xla(args, argv)
    if args.scaling:
        return _scaling(args, argv)
    from tf_custom_op.benchmark import machine, report, suite
    import tf_custom_op
    cases = _select(suite.load_cases(args.layers, headline_only=args.short), args)
    where = machine.describe()
    machine.print_description(where)
    on = _run_worker(argv, onednn=True)
    off = None if args.no_onednn_off else _run_worker(argv, onednn=False)
    results, peak, bandwidth = on["results"], on["fma_peak_gflops"], on["stream_gbs"]
    off = off and off["results"]
    rows = report.rows_of(cases, results, off, peak, args.threads, where["kernels"], bandwidth)
    summary = report.print_table(rows, peak, args.threads, args.repeats,
                                 min_seconds=args.min_seconds, bandwidth=bandwidth)
    os.makedirs(args.out, exist_ok=True)
    meta = {"threads": args.threads, "repeats": args.repeats, "min_seconds": args.min_seconds,
            "fma_peak_gflops": peak, "stream_gbs": bandwidth,
            "build": tf_custom_op.build_info(), "machine": where}
    json_path = os.path.join(args.out, f"benchmark_t{args.threads}.json")
    report.write_json(json_path, rows, summary, meta)
    png_path = os.path.join(args.out, f"benchmark_t{args.threads}.png")
    try:
        report.write_chart(png_path, rows, peak, args.threads)
    except ImportError:
        png_path = None
    print(f"wrote {json_path}" + (f" and {png_path}" if png_path else " (matplotlib missing: no chart)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
