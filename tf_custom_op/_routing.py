"""Chooses, per call, between the custom op and TensorFlow's built-in
Conv2DBackpropInput.

The custom op is used everywhere, including graphs that XLA compiles
(`tf.function(jit_compile=True)`, Keras `jit_compile=True`, or a function
called from one): the library lowers it to a custom call of its own kernel
(cc/xla/). The built-in op, which XLA lowers to its own convolution, is used
instead in such graphs where the library has no lowering for them: built
without it, a GPU visible and no GPU lowering, or TF_CUSTOM_OP_XLA=0.

XLA is detected while tracing: `tf.function(jit_compile=True)` enters an
`XLAControlFlowContext` on the caller's graph, and every graph traced inside it
has that graph among its outer graphs. A forward graph traced under XLA is also
remembered (weakly), because TensorFlow may build its backward function later,
outside the XLA context, and still compile it with XLA.
"""
import os
import weakref

import tensorflow as tf
from tensorflow.python.framework import ops as _ops  # pylint: disable=no-name-in-module

try:  # private; fall back to "never in XLA" if a future TF moves it
    from tensorflow.python.ops import control_flow_util as _cf_util  # pylint: disable=no-name-in-module
except ImportError:  # pragma: no cover
    _cf_util = None

from tf_custom_op import _builtins, _loader, algorithms

_xla_graphs = weakref.WeakSet()

# How many ops each path has built (incremented when the op is created: once
# per trace inside tf.function, once per call eagerly). For tests and
# debugging, through stats() and reset_stats().
_counts = {"custom": 0, "builtin": 0, "custom_under_xla": 0}


def stats():
    """How many Conv2DBackpropInput ops the routing built so far, by kind:
    {"custom": n, "builtin": n, "custom_under_xla": n} (per op creation: per
    eager call, per trace; the last counts the custom ops built in graphs
    that XLA compiles, also counted in "custom")."""
    return dict(_counts)


def reset_stats():
    for key in _counts:
        _counts[key] = 0


def _graph_in_xla_context(graph):
    if _cf_util is None:
        return False
    try:
        return bool(_cf_util.InXlaContext(graph))
    except Exception:  # pylint: disable=broad-except
        return False


def _graph_chain(graph):
    seen = 0
    while graph is not None and seen < 64:
        yield graph
        seen += 1
        graph = getattr(graph, "outer_graph", None)


def in_xla_context(graph=None, *extra_graphs):
    """True when ops built now (in `graph`, default: the current default graph)
    will be compiled by XLA. `extra_graphs` (e.g. the graph of the forward op a
    gradient is built for) are checked too. Always False when executing eagerly
    outside any function."""
    if graph is None:
        if tf.executing_eagerly():
            return False
        graph = _ops.get_default_graph()
    for g in (graph,) + tuple(x for x in extra_graphs if x is not None):
        chain = list(_graph_chain(g))
        for member in chain:
            if member in _xla_graphs or _graph_in_xla_context(member):
                # Remember the function graphs of this chain: their backward
                # functions are compiled too, even if traced later.
                for fg in chain:
                    if getattr(fg, "building_function", False):
                        _xla_graphs.add(fg)
                    if fg is member:
                        break
                return True
    return False


def xla_lowering_serves():
    """Whether a graph that XLA compiles can use the custom op here: the
    library lowers it for the devices XLA may place it on (CPU, and GPU where
    one is visible), and TF_CUSTOM_OP_XLA is not "0"."""
    if os.environ.get("TF_CUSTOM_OP_XLA", "1") == "0":
        return False
    devices = _loader.xla_lowering_devices()
    if "CPU" not in devices:
        return False
    return "GPU" in devices or not tf.config.list_physical_devices("GPU")


def note_graph():
    """Remembers the current function graph if it is being traced for XLA."""
    if not tf.executing_eagerly():
        in_xla_context()


@tf.autograph.experimental.do_not_convert
def backprop_input(input_sizes, filter, out_backprop, strides, padding,  # pylint: disable=redefined-builtin,dangerous-default-value
                   use_cudnn_on_gpu=True, explicit_paddings=[], data_format="NHWC",
                   dilations=[1, 1, 1, 1], name=None, xla=None):
    """Same signature as `gen_nn_ops.conv2d_backprop_input`: the custom op,
    or the built-in one where XLA compiles the graph and our lowering does
    not serve it. `xla`: whether XLA compiles the graph, where the caller
    knows better than the current graph (a gradient, from its forward op)."""
    kwargs = dict(input_sizes=input_sizes, filter=filter, out_backprop=out_backprop,
                  strides=strides, padding=padding, use_cudnn_on_gpu=use_cudnn_on_gpu,
                  explicit_paddings=explicit_paddings, data_format=data_format,
                  dilations=dilations, name=name)
    if xla is None:
        xla = in_xla_context()
    if xla and not xla_lowering_serves():
        _counts["builtin"] += 1
        return _builtins.conv2d_backprop_input(**kwargs)
    _counts["custom"] += 1
    _counts["custom_under_xla"] += int(bool(xla))
    return _loader.raw_op()(**kwargs, algorithm=algorithms.current_algorithm())
