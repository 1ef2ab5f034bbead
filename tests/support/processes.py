"""Child Python processes for the tests: one environment recipe, one way to
run code in a fresh interpreter, and one runner for case lists whose
evaluation may crash its process."""
import json
import os
import socket
import subprocess
import sys
import textwrap

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TESTS)


def child_env(base=None, **extra):
    """Environment for a child Python process: the package and tests/
    importable, TF quiet, no inherited TF_CONFIG, plus `extra` (values of
    None remove a variable). `base` defaults to this process's environment."""
    env = dict(os.environ if base is None else base)
    paths = [TESTS, ROOT] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.pop("TF_CONFIG", None)
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_python(code, env=None, timeout=300, cwd=ROOT):
    """Runs `code` (dedented) in a fresh interpreter with child_env(**env).

    Returns the CompletedProcess; a crash shows up as a negative returncode.
    """
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, env=child_env(**(env or {})),
                          timeout=timeout, cwd=cwd)


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1 (for multi-worker tests)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


# --- calls that may crash or hang their process --------------------------
#
# One protocol for both sides. The parent starts
#   python CHILD_ARGV... RESULTS.jsonl --skip N
# and the child runs calls N, N+1, ... in order, appending to RESULTS.jsonl a
# {"index": i, "event": "start"} line before call i and {"index": i, "event":
# "done", ...outcome} after it, flushed, so the parent knows which call killed
# the process (crash) or ran too long (hang), records it, and restarts the
# child after it.


def record_calls(results_path, skip, count, run_call):
    """Child side: runs run_call(i) for i in [skip, count), logging each.
    run_call returns the outcome, a JSON-serialisable dict."""
    with open(results_path, "a") as out:
        def emit(record):
            out.write(json.dumps(record) + "\n")
            out.flush()
        for index in range(skip, count):
            emit({"index": index, "event": "start"})
            emit(dict(run_call(index), index=index, event="done"))


def child_call_arguments(argv):
    """Child side: (results_path, skip) from the arguments the parent appends."""
    return argv[-3], int(argv[-1])


def _limit_memory(limit_bytes):
    def apply():
        import resource  # pylint: disable=import-outside-toplevel
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
    return apply


def run_isolated(child_argv, count, workdir, call_timeout=120.0, memory_limit=None, env=None,
                 label="calls"):
    """Parent side: runs calls 0..count-1 in child processes (see above).

    Returns a list of `count` records: the child's outcome (plus "index" and
    "event"), or {"status": "crash", "returncode", "stderr"} for the call that
    killed its process, {"status": "hang", "seconds", "stderr"} for one killed
    after `call_timeout` seconds; when a child dies outside any call (importing
    TF, loading the library) every remaining call gets a crash record with
    "outside_call". `memory_limit` caps the child's address space (bytes).
    """
    import time  # pylint: disable=import-outside-toplevel
    os.makedirs(workdir, exist_ok=True)
    results_path = os.path.join(workdir, f"{label}.results.jsonl")
    open(results_path, "w").close()
    outcomes = [None] * count
    skip = 0
    attempt = 0
    offset = 0
    limit = _limit_memory(memory_limit) if memory_limit else None
    while skip < count:
        attempt += 1
        stderr_path = os.path.join(workdir, f"{label}.stderr.{attempt}")
        with open(stderr_path, "w") as stderr:
            proc = subprocess.Popen(
                [sys.executable] + list(child_argv) + [results_path, "--skip", str(skip)],
                stdout=subprocess.DEVNULL, stderr=stderr, env=child_env(base=env),
                preexec_fn=limit, cwd=ROOT)
            pending = None  # (index, started at)
            launched = time.monotonic()
            hung = False
            while True:
                finished = proc.poll() is not None
                with open(results_path) as f:
                    f.seek(offset)
                    chunk = f.read()
                complete = chunk[:chunk.rfind("\n") + 1] if "\n" in chunk else ""
                offset += len(complete.encode())
                for line in complete.splitlines():
                    record = json.loads(line)
                    if record["event"] == "start":
                        pending = (record["index"], time.monotonic())
                    else:
                        outcomes[record["index"]] = record
                        skip = record["index"] + 1
                        pending = None
                if finished:
                    break
                now = time.monotonic()
                if (pending and now - pending[1] > call_timeout) or (
                        not pending and now - launched > call_timeout + 300):
                    proc.kill()
                    proc.wait()
                    hung = True
                    break
                time.sleep(0.05)
        if skip >= count:
            break
        with open(stderr_path, errors="replace") as f:
            tail = f.read()[-3000:]
        if pending is None:
            for index in range(skip, count):
                outcomes[index] = {"status": "crash", "returncode": proc.returncode,
                                   "stderr": tail, "outside_call": True}
            break
        index = pending[0]
        if hung:
            outcomes[index] = {"status": "hang", "seconds": call_timeout, "stderr": tail}
        else:
            outcomes[index] = {"status": "crash", "returncode": proc.returncode, "stderr": tail}
        skip = index + 1
    return outcomes


def run_cases_in_subprocess(names, workdir=None):
    """Runs error_cases.DANGEROUS[names] through our op in child processes
    (run_isolated). Returns name -> outcome record."""
    import tempfile  # pylint: disable=import-outside-toplevel
    names = list(names)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = workdir or tmp
        names_path = os.path.join(workdir, "names.json")
        with open(names_path, "w") as f:
            json.dump(names, f)
        records = run_isolated(["-c", "from support import error_cases; error_cases.main()",
                                names_path], len(names), workdir, call_timeout=300,
                               label="dangerous")
    return dict(zip(names, records))


def run_workers(argv, count=2, timeout=300, cwd=ROOT):
    """Starts `count` copies of `argv` (a Python command line without the
    interpreter) as the workers of one TF cluster on free localhost ports
    (TF_CONFIG per worker), waits for all, and returns [(returncode, stdout,
    stderr)] in worker order. Every worker is killed if one hangs."""
    cluster = {"worker": [f"127.0.0.1:{p}" for p in free_ports(count)]}
    procs = []
    try:
        for index in range(count):
            tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
            procs.append(subprocess.Popen([sys.executable] + list(argv),
                                          env=child_env(TF_CONFIG=tf_config), cwd=cwd,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True))
        outputs = [p.communicate(timeout=timeout) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return [(p.returncode, out, err) for p, (out, err) in zip(procs, outputs)]
