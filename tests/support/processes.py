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


def run_cases_in_subprocess(names):
    """Runs error_cases.DANGEROUS[names] through our op in fresh interpreters.

    A crash ends its interpreter (recorded for the case that was running);
    the remaining cases go on in a new one. Returns name -> outcome dict.
    """
    results = {}
    todo = list(names)
    while todo:
        proc = run_python("from support import error_cases; error_cases.main(%r)" % (todo,),
                          timeout=600)
        started = None
        for line in proc.stdout.splitlines():
            if line.startswith("START "):
                started = line[6:]
            elif line.startswith("RESULT "):
                record = json.loads(line[7:])
                results[record.pop("name")] = record
                started = None
        if proc.returncode != 0:
            crashed = started if started is not None else todo[0]
            results[crashed] = {"crash": proc.returncode, "stderr": proc.stderr[-2000:]}
        todo = [n for n in todo if n not in results]
    return results


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
