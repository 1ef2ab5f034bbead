"""TensorFlow's built-in op as the tests' oracle, the same on every CPU.

TF 2.21 runs Conv2DBackpropInput on CPU through one of two kernels: oneDNN's
(on by default on AVX-512 class x86 CPUs) or Eigen's (everywhere else, and
with TF_ENABLE_ONEDNN_OPTS=0). They disagree on which configurations they
accept and on some exception classes. The op's contract follows the Eigen
kernel, TF's reference, so every comparison with TF's op goes to a child
process started with TF_ENABLE_ONEDNN_OPTS=0, whatever the pytest process
itself runs with. The child lives for the whole session.

    from support.tf_oracle import EIGEN
    dx = EIGEN.call("v1", sizes, w, dy, strides=..., padding="SAME")  # NumPy array
    EIGEN.outcome("SAFE", "strides_batch_2")  # a case of support/error_cases.py

`call` returns NumPy arrays, and raises the exception class the child saw
(tf.errors.* or ValueError/TypeError) with the child's message.
"""
import atexit
import os
import pickle
import struct
import subprocess
import sys
import threading

from support.processes import ROOT as _ROOT, child_env


# The functions a request may name: "v1" (tf.compat.v1.nn.conv2d_backprop_input),
# "raw" (gen_nn_ops.conv2d_backprop_input), "transpose" (tf.nn.conv2d_transpose).


class OracleCrashed(RuntimeError):
    """The oracle's child process died (TF's own op crashed it)."""


def _send(stream, obj):
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def _receive(stream):
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError
    (size,) = struct.unpack("<Q", header)
    return pickle.loads(stream.read(size))


def _raise_as(class_name, message):
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    error_class = getattr(tf.errors, class_name, None)
    if isinstance(error_class, type) and issubclass(error_class, tf.errors.OpError):
        raise error_class(None, None, message)
    builtin = {"ValueError": ValueError, "TypeError": TypeError}.get(class_name)
    if builtin is not None:
        raise builtin(message)
    raise RuntimeError(f"{class_name}: {message}")


class EigenOracle:
    """A child Python process running TF's op with oneDNN off."""

    def __init__(self):
        self._proc = None
        self._lock = threading.Lock()

    def _start(self):
        env = child_env(TF_ENABLE_ONEDNN_OPTS="0")
        self._proc = subprocess.Popen(
            [sys.executable, "-c", "from support import tf_oracle; tf_oracle.serve()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=_ROOT)

    def _request(self, request):
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            try:
                _send(self._proc.stdin, request)
                return _receive(self._proc.stdout)
            except (EOFError, BrokenPipeError) as err:
                proc, self._proc = self._proc, None
                proc.kill()
                stderr = proc.stderr.read().decode(errors="replace")[-3000:]
                raise OracleCrashed(f"TF's op (oneDNN off) crashed on {request!r:.300}: "
                                    f"rc={proc.wait()}\n{stderr}") from err

    def call(self, api, *args, in_function=False, **kwargs):
        """TF's function `api` called with (*args, **kwargs), as a NumPy array,
        or the exception it raised."""
        reply = self._request(("call", api, args, kwargs, in_function))
        if reply[0] == "ok":
            return reply[1]
        _raise_as(reply[1], reply[2])

    def outcome(self, table, name, in_function=False):
        """error_cases.outcome of case `name` of error_cases.TABLES[table],
        with OP/RAW bound to TF's ops."""
        return self._request(("case", table, name, in_function))

    def close(self):
        if self._proc is not None and self._proc.poll() is None:
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._proc = None


EIGEN = EigenOracle()
atexit.register(EIGEN.close)


def serve():
    """Child side: answers requests on stdin until it closes."""
    protocol_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to stderr, not into the protocol
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    from tensorflow.python.ops import gen_nn_ops  # pylint: disable=import-outside-toplevel,no-name-in-module
    from support import error_cases  # pylint: disable=import-outside-toplevel
    functions = {"v1": tf.compat.v1.nn.conv2d_backprop_input,
                 "raw": gen_nn_ops.conv2d_backprop_input,
                 "transpose": tf.nn.conv2d_transpose}
    stdin = sys.stdin.buffer
    while True:
        try:
            request = _receive(stdin)
        except EOFError:
            return
        kind = request[0]
        if kind == "case":
            _, table, name, in_function = request
            namespace = error_cases.namespace(functions["v1"], functions["raw"])
            _send(protocol_out, error_cases.outcome(error_cases.TABLES[table][name], namespace,
                                                    in_function))
        else:
            _, api, args, kwargs, in_function = request
            function = functions[api]
            try:
                if in_function:
                    result = tf.function(lambda: function(*args, **kwargs))()
                else:
                    result = function(*args, **kwargs)
                _send(protocol_out, ("ok", result.numpy()))
            except Exception as err:  # pylint: disable=broad-except
                _send(protocol_out, ("error", type(err).__name__, str(err)))
