"""The layer suite: reads layers.json and makes the tensors of each case."""
import json
import os

import numpy as np

from tf_custom_op import dtypes
from tf_custom_op.geometry import axis_window, output_size, taps_inside


# The layer files ship inside the package (package data, also in the wheel),
# so the benchmark runs from any clone or install. The corpus (layers as real
# networks run them) is the default; "layers" is the first eight-layer suite.
_HERE = os.path.dirname(os.path.abspath(__file__))
SUITES = {"corpus": os.path.join(_HERE, "corpus.json"),
          "layers": os.path.join(_HERE, "layers.json")}
DEFAULT_LAYERS = SUITES["corpus"]


class Case:
    """One timed configuration: a layer in a dtype and data format."""

    def __init__(self, layer, dtype="float32", data_format="NHWC"):
        self.layer = layer
        self.dtype = dtype
        self.data_format = data_format
        n, h, w, c = layer["N"], layer["H"], layer["W"], layer["C"]
        r, s, k = layer["R"], layer["S"], layer["K"]
        stride, dil, pad = layer["stride"], layer["dilation"], layer["padding"]
        self.groups = layer.get("groups", 1)
        p = output_size(h, r, stride, dil, pad)
        q = output_size(w, s, stride, dil, pad)
        self.nhwc_input = [n, h, w, c]
        self.filter_shape = [r, s, c // self.groups, k]
        self.nhwc_dy = [n, p, q, k]
        self.flops = 2.0 * n * p * q * k * r * s * c / self.groups
        # The multiply-adds that read data (not padding), as FLOPs: what an
        # implementation that skips the padding taps must still do.
        self.data_flops = (2.0 * n * k * (c / self.groups)
                           * taps_inside(h, r, stride, dil, pad)
                           * taps_inside(w, s, stride, dil, pad))
        # The least memory traffic any implementation has: dy and the
        # filter read once, dx written once.
        elements = n * p * q * k + r * s * (c // self.groups) * k + n * h * w * c
        self.min_bytes = elements * dtypes.element_bytes(dtype)
        self.padding = pad
        self.stride, self.dilation = stride, dil

    def extra_memory_bytes(self, threads, kernels):
        """Peak memory the op allocates beyond its output. Where the Winograd
        engine runs, its own count (the transformed filter and each thread's
        scratch: WinogradEngine::PackedBytes, ScratchBytes). Otherwise,
        mirroring cc/kernels/cpu/gather_engine.cc: the packed filter (channel blocks
        padded to the micro-kernel's width nr, K to whole steps of k_pack)
        plus, per thread, the staged dy rows when dy cannot be read in place
        (NCHW, or a dtype the kernel does not read) and one dx row when dx
        is not written in place. `kernels` is the library's kernel report
        (tf_custom_op._loader.cpu_kernel_report()["kernels"])."""
        kernel = kernels[self.dtype]
        nr, k_pack, reads = kernel["nr"], kernel["k_pack"], kernel["reads"]
        elem = dtypes.element_bytes(reads.split()[0])
        acc = 8 if self.dtype == "float64" else 4  # the accumulation type
        r, s, cg, k = self.filter_shape
        kg = k // self.groups
        padded_kg = -(-kg // k_pack) * k_pack
        packed = self.groups * r * s * (-(-cg // nr) * nr) * padded_kg * elem
        _, _, q, _ = self.nhwc_dy
        _, _, w, _ = self.nhwc_input
        nhwc = self.data_format == "NHWC"
        dy_staged = not (nhwc and reads == self.dtype)
        dx_staged = not (nhwc and self.dtype in ("float32", "float64", "int32"))
        if self.algorithm() == "winograd":
            from tf_custom_op import _loader
            packed, scratch = _loader.cpu_winograd_bytes(
                self.problem_fields(), nhwc and self.dtype == "float32", not dx_staged)
            return packed + threads * scratch
        row_taps = -(-r // self.stride)
        c = self.nhwc_input[3]
        per_thread = ((row_taps + 1) * q * k * elem if dy_staged else 0) + \
            (w * c * acc if dx_staged else 0)
        return packed + threads * per_thread

    def problem_fields(self):
        """The 20 fields of the kernel's ConvProblem (cc/kernels/conv_params.h),
        in their order: what _loader.cpu_algorithm reads."""
        n, h, w, c = self.nhwc_input
        r, s, cg, k = self.filter_shape
        _, p, q, _ = self.nhwc_dy
        _, top, bottom = axis_window(h, r, self.stride, self.dilation, self.padding)
        _, left, right = axis_window(w, s, self.stride, self.dilation, self.padding)
        return [n, h, w, c, p, q, k, r, s, cg, self.groups, k // self.groups,
                self.stride, self.stride, self.dilation, self.dilation, top, bottom, left, right]

    def algorithm(self):
        """"winograd" or "direct": what our CPU kernel runs for this case."""
        from tf_custom_op import _loader
        if self.dtype in ("float64", "int32"):
            return "direct"
        return _loader.cpu_algorithm(self.problem_fields())

    @property
    def name(self):
        suffix = "" if (self.dtype, self.data_format) == ("float32", "NHWC") else \
            f" [{self.data_format} {self.dtype}]"
        return self.layer["name"] + suffix

    def _order(self, nhwc):
        if self.data_format == "NHWC":
            return list(nhwc)
        n, h, w, c = nhwc
        return [n, c, h, w]

    def arguments(self, seed=0):
        """Keyword arguments for conv2d_backprop_input (built-in and ours alike)."""
        import tensorflow as tf
        rng = np.random.default_rng(seed)
        dy = rng.standard_normal(self._order(self.nhwc_dy), dtype=np.float32)
        w = rng.standard_normal(self.filter_shape, dtype=np.float32)
        dtype = tf.as_dtype(self.dtype)
        strides = self._order([1, self.stride, self.stride, 1])
        dilations = self._order([1, self.dilation, self.dilation, 1])
        return dict(
            input_sizes=tf.constant(self._order(self.nhwc_input), tf.int32),
            filter=tf.cast(tf.constant(w), dtype),
            out_backprop=tf.cast(tf.constant(dy), dtype),
            strides=strides, padding=self.padding, data_format=self.data_format,
            dilations=dilations)


def load_cases(path=None, headline_only=False):
    """The cases of a layer file: a path, or a name of SUITES."""
    path = path or os.environ.get("TF_CUSTOM_OP_LAYERS", DEFAULT_LAYERS)
    path = SUITES.get(path, path)
    with open(path) as f:
        spec = json.load(f)
    layers = {layer["name"]: layer for layer in spec["layers"]}
    cases = [Case(layer) for layer in spec["layers"]]
    if headline_only:
        return cases
    for variant in spec.get("variants", []):
        if "layers" not in variant:
            continue
        for name in variant["layers"]:
            cases.append(Case(layers[name], variant.get("dtype", "float32"),
                              variant.get("data_format", "NHWC")))
    return cases
