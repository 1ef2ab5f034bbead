"""Every ```python block of README.md runs, in one working directory (a
snippet may use a file an earlier one wrote). Plain blocks run in order in one
process, each in a namespace of its own (the patch undone after each); a block
preceded by `<!-- readme-test: fresh -->` runs in a fresh process of its own
after them, and one preceded by `<!-- readme-test: multiworker -->` as two
MultiWorkerMirroredStrategy workers on 127.0.0.1 that must agree."""
import json
import os
import re
import subprocess
import sys

import pytest

from support.processes import child_env, run_workers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
TIMEOUT = 240

_BLOCK = re.compile(r"(?:<!--\s*readme-test:\s*(?P<mode>[\w-]+)\s*-->\s*\n)?```python\n(?P<code>.*?)```",
                    re.S)


def snippets():
    with open(README) as f:
        text = f.read()
    out = []
    for match in _BLOCK.finditer(text):
        line = text.count("\n", 0, match.start("code"))
        out.append((line, match.group("mode") or "plain", match.group("code")))
    return out


def _run_plain(code, cwd):
    proc = subprocess.run([sys.executable, "-c", code], env=child_env(), cwd=cwd,
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]


_DRIVER = """
import json, sys, traceback
for line, code in json.load(open(sys.argv[1])):
    namespace = {"__name__": "__main__"}
    try:
        exec(compile(code, "README.md:%d" % line, "exec"), namespace)
    except BaseException:
        traceback.print_exc()
        sys.exit("README snippet at line %d failed" % line)
    import tf_custom_op
    tf_custom_op.unpatch()
"""


def _run_multiworker(code, cwd):
    workers = run_workers(["-c", code], timeout=TIMEOUT, cwd=cwd)
    for returncode, out, err in workers:
        assert returncode == 0, out[-3000:] + err[-5000:]
    last = [out.strip().splitlines()[-1] for _, out, _ in workers]
    assert last[0] == last[1], last


def test_readme_has_drop_in_sections():
    with open(README) as f:
        text = f.read()
    for heading in ("### Patching TensorFlow", "### `conv2d_transpose`", "### TF1-style graphs",
                    "### SavedModel", "### tf.distribute", "### XLA", "### Packaging: wheels"):
        assert heading in text, heading
    modes = [mode for _, mode, _ in snippets()]
    assert len(modes) >= 8 and {"fresh", "multiworker"} <= set(modes)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("readme"))


@pytest.fixture(scope="module")
def plain_run(workdir):
    blocks = [(line + 1, code) for line, mode, code in snippets() if mode == "plain"]
    path = os.path.join(workdir, "snippets.json")
    with open(path, "w") as f:
        json.dump(blocks, f)
    proc = subprocess.run([sys.executable, "-c", _DRIVER, path], env=child_env(), cwd=workdir,
                          capture_output=True, text=True, timeout=TIMEOUT)
    return blocks, proc


def test_plain_snippets_run(plain_run):
    blocks, proc = plain_run
    assert blocks
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]


_SEPARATE = [s for s in snippets() if s[1] != "plain"]


@pytest.mark.parametrize("line,mode,code", _SEPARATE, ids=[f"line{s[0] + 1}" for s in _SEPARATE])
def test_separate_process_snippet_runs(line, mode, code, workdir, plain_run):
    del line, plain_run  # plain snippets first: a fresh one may read what they wrote
    if mode == "multiworker":
        _run_multiworker(code, workdir)
    elif mode == "fresh":
        _run_plain(code, workdir)
    else:
        pytest.fail(f"unknown readme-test mode {mode!r}")
