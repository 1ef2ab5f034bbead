#!/usr/bin/env python3
"""Standalone check of the CUDA conv2d_backprop_input kernel on a real GPU.

Needs no TensorFlow: PyTorch (with CUDA), nvcc and a GPU. It

1. builds cc/kernels/gpu/conv_backprop_input.cu.cc plus the C shim
   tools/gpu_check_shim.cu.cc with nvcc into build/gpu_check/ (for the GPU's
   own architecture unless --arch is given),
2. runs the layer suite of layers.json (every layer in float32 NHWC, plus the
   file's variants) and a randomized sweep (every dtype, NHWC and NCHW,
   strides, dilations, SAME/VALID/explicit asymmetric padding, groups),
   comparing each result with torch.nn.grad.conv2d_input computed in float64
   (int32: exact comparison) and checking that two runs give identical bits,
3. times the suite against cuDNN through PyTorch (same dtype and layout:
   channels_last for NHWC; fp32 with TF32 off unless --tf32) and prints one
   table to stdout. Exit status 1 if any case fails.

Usage (from the repository root):
    python tools/gpu_check.py [layers.json] [--sweep 300] [--reps 20] [--arch 90]
layers.json defaults to the suite shipped in the package, tf_custom_op/benchmark/layers.json.
"""
import argparse
import ctypes
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load_geometry():
    """tf_custom_op/geometry.py by path: the GPU machine has no TensorFlow, so
    the package itself (whose __init__ imports TF) cannot be imported."""
    import importlib.util  # pylint: disable=import-outside-toplevel
    spec = importlib.util.spec_from_file_location(
        "tf_custom_op_geometry", os.path.join(ROOT, "tf_custom_op", "geometry.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


axis_window = _load_geometry().axis_window
sys.path.insert(0, ROOT)
from build_tools import sources as build_sources  # noqa: E402  (no TensorFlow needed)

SOURCES = build_sources.CUDA_SOURCES + [build_sources.GPU_CHECK_SHIM]
HEADERS = build_sources.CUDA_HEADERS
# Max |ours - reference| / max(1, max |reference|) accepted per dtype (the
# reference is float64 from the same rounded inputs).
TOLERANCE = {"float16": 2e-3, "bfloat16": 1.6e-2, "float32": 2e-5, "float64": 1e-12,
             "int32": 0.0}


# ----------------------------------------------------------------------------
# Build and load

def find_nvcc(explicit):
    for candidate in (explicit, os.environ.get("NVCC"),
                      os.path.join(os.environ.get("CUDA_HOME", "/usr/local/cuda"), "bin", "nvcc"),
                      shutil.which("nvcc")):
        if candidate and os.path.exists(candidate):
            return candidate
    sys.exit("gpu_check: nvcc not found (set NVCC or CUDA_HOME)")


def build_library(nvcc, archs, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    lib = os.path.join(out_dir, "libtfco_gpu_check_sm%s.so" % "_".join(archs))
    deps = [os.path.join(ROOT, s) for s in SOURCES + HEADERS]
    if os.path.exists(lib) and all(os.path.getmtime(d) <= os.path.getmtime(lib) for d in deps):
        return lib
    cmd = [nvcc] + build_sources.NVCC_FLAGS + ["-shared", "-I" + ROOT, "-cudart", "static"] + \
        build_sources.gencode_flags(archs)
    cmd += ["-x", "cu"] + [os.path.join(ROOT, s) for s in SOURCES] + ["-o", lib + ".tmp"]
    print("building:", " ".join(cmd), file=sys.stderr, flush=True)
    t0 = time.time()
    subprocess.check_call(cmd, cwd=ROOT)
    os.replace(lib + ".tmp", lib)
    print(f"built {lib} in {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    return lib


class Kernel:
    """ctypes wrapper of the shim."""

    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        self.lib.tfco_workspace_bytes.restype = ctypes.c_size_t
        self.lib.tfco_workspace_bytes.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_int64),
                                                  ctypes.c_int]
        self.lib.tfco_conv_backprop_input.restype = ctypes.c_char_p
        self.lib.tfco_conv_backprop_input.argtypes = [
            ctypes.c_int, ctypes.POINTER(ctypes.c_int64), ctypes.c_int, ctypes.c_void_p,
            ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
        # The dtype codes, from the library's own list (cc/kernels/op_dtypes.h).
        self.lib.tfco_dtype_names.restype = ctypes.c_char_p
        names = self.lib.tfco_dtype_names().decode().strip(",").split(",")
        self.dtype_codes = {name: code for code, name in enumerate(names)}

    def prepare(self, torch, geo, dtype, nchw):
        """Returns run(w_hwio, dy, dx) with the workspace allocated once."""
        params = (ctypes.c_int64 * 20)(*geo.param_values())
        code = self.dtype_codes[dtype]
        ws_bytes = self.lib.tfco_workspace_bytes(code, params, int(nchw))
        ws = torch.empty(max(ws_bytes, 1), dtype=torch.uint8, device="cuda")

        def run(w, dy, dx):
            stream = torch.cuda.current_stream().cuda_stream
            err = self.lib.tfco_conv_backprop_input(
                code, params, int(nchw), ctypes.c_void_p(w.data_ptr()),
                ctypes.c_void_p(dy.data_ptr()), ctypes.c_void_p(dx.data_ptr()),
                ctypes.c_void_p(ws.data_ptr()), ws_bytes, ctypes.c_void_p(stream))
            if err is not None:
                raise RuntimeError(err.decode())
        return run


# ----------------------------------------------------------------------------
# Geometry (SPEC section 2)

class Geometry:
    def __init__(self, n, h, w, c, r, s, k, groups=1, sh=1, sw=1, dh=1, dw=1,
                 padding="SAME", explicit=(0, 0, 0, 0)):
        self.n, self.h, self.w, self.c, self.r, self.s, self.k = n, h, w, c, r, s, k
        self.groups, self.sh, self.sw, self.dh, self.dw = groups, sh, sw, dh, dw
        self.padding = padding
        self.p, self.pt, self.pb = self._axis(h, r, sh, dh, padding, explicit[0], explicit[1])
        self.q, self.pl, self.pr = self._axis(w, s, sw, dw, padding, explicit[2], explicit[3])

    @staticmethod
    def _axis(size, k, stride, dil, padding, before, after):
        return axis_window(size, k, stride, dil, padding, (before, after))

    def valid(self):
        return self.p >= 0 and self.q >= 0

    def param_values(self):
        cg, kg = self.c // self.groups, self.k // self.groups
        return [self.n, self.h, self.w, self.c, self.p, self.q, self.k, self.r, self.s, cg,
                self.groups, kg, self.sh, self.sw, self.dh, self.dw,
                self.pt, self.pb, self.pl, self.pr]

    def flops(self):
        return 2 * self.n * self.p * self.q * self.k * self.r * self.s * (self.c // self.groups)

    def describe(self):
        pad = self.padding if self.padding != "EXPLICIT" else \
            f"pad{self.pt},{self.pb},{self.pl},{self.pr}"
        return (f"n{self.n} {self.h}x{self.w}x{self.c} f{self.r}x{self.s}x{self.k} g{self.groups} "
                f"s{self.sh}{self.sw} d{self.dh}{self.dw} {pad}")


# ----------------------------------------------------------------------------
# Reference and cuDNN

def torch_dtype(torch, dtype):
    return {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
            "float64": torch.float64, "int32": torch.int32}[dtype]


def grad_input(torch, geo, w_oihw, dy_nchw):
    """dx (NCHW) through PyTorch: torch.nn.grad.conv2d_input on the padded
    input, cropped (covers SAME's odd padding and explicit asymmetric pads)."""
    padded = (geo.n, geo.c, geo.h + geo.pt + geo.pb, geo.w + geo.pl + geo.pr)
    symmetric = geo.pt == geo.pb and geo.pl == geo.pr
    if symmetric:
        return torch.nn.grad.conv2d_input((geo.n, geo.c, geo.h, geo.w), w_oihw, dy_nchw,
                                          stride=(geo.sh, geo.sw), padding=(geo.pt, geo.pl),
                                          dilation=(geo.dh, geo.dw), groups=geo.groups)
    full = torch.nn.grad.conv2d_input(padded, w_oihw, dy_nchw, stride=(geo.sh, geo.sw),
                                      padding=0, dilation=(geo.dh, geo.dw), groups=geo.groups)
    return full[:, :, geo.pt:geo.pt + geo.h, geo.pl:geo.pl + geo.w]


def make_inputs(torch, geo, dtype, gen):
    cg = geo.c // geo.groups
    shape_w = (geo.k, cg, geo.r, geo.s)
    shape_dy = (geo.n, geo.k, geo.p, geo.q)
    if dtype == "int32":
        w = torch.randint(-3, 4, shape_w, generator=gen, device="cuda").to(torch.float64)
        dy = torch.randint(-3, 4, shape_dy, generator=gen, device="cuda").to(torch.float64)
    else:
        w = torch.randn(shape_w, generator=gen, device="cuda", dtype=torch.float64)
        dy = torch.randn(shape_dy, generator=gen, device="cuda", dtype=torch.float64)
        # Round to the tested dtype so the float64 reference sees the same values.
        w = w.to(torch_dtype(torch, dtype)).to(torch.float64)
        dy = dy.to(torch_dtype(torch, dtype)).to(torch.float64)
    return w, dy


def cuda_time_ms(torch, fn, reps):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return times[len(times) // 2]


# ----------------------------------------------------------------------------
# One case

def run_case(torch, kernel, geo, dtype, nchw, gen, reps=0):
    tdt = torch_dtype(torch, dtype)
    row = {"case": geo.describe(), "dtype": dtype, "layout": "NCHW" if nchw else "NHWC",
           "flops": geo.flops()}
    w64, dy64 = make_inputs(torch, geo, dtype, gen)
    if geo.p == 0 or geo.q == 0 or geo.n == 0 or geo.k == 0 or geo.r == 0 or geo.s == 0:
        ref = torch.zeros((geo.n, geo.c, geo.h, geo.w), dtype=torch.float64, device="cuda")
    else:
        ref = grad_input(torch, geo, w64, dy64)

    # Our operands: filter HWIO, dy/dx NHWC (channels_last storage) or NCHW.
    fmt = torch.contiguous_format if nchw else torch.channels_last
    w_hwio = w64.permute(2, 3, 1, 0).contiguous().to(tdt)
    dy = dy64.to(tdt).contiguous(memory_format=fmt)
    dx = torch.empty((geo.n, geo.c, geo.h, geo.w), dtype=tdt, device="cuda",
                     memory_format=fmt)
    dx.fill_(123)  # poison: every element must be written
    run = kernel.prepare(torch, geo, dtype, nchw)
    run(w_hwio, dy, dx)
    torch.cuda.synchronize()
    got = dx.to(torch.float64)
    err = (got - ref).abs().max().item() if ref.numel() else 0.0
    scale = max(1.0, ref.abs().max().item() if ref.numel() else 0.0)
    row["rel_err"] = err / scale
    dx2 = torch.empty_like(dx)
    run(w_hwio, dy, dx2)
    torch.cuda.synchronize()
    row["deterministic"] = bool(torch.equal(dx, dx2))
    row["ok"] = (row["rel_err"] <= TOLERANCE[dtype] and row["deterministic"]
                 and math.isfinite(row["rel_err"]))

    if reps > 0 and geo.flops() > 0:
        row["ours_ms"] = cuda_time_ms(torch, lambda: run(w_hwio, dy, dx), reps)
        if dtype != "int32":
            w_t = w64.to(tdt).contiguous(memory_format=fmt)
            row["cudnn_ms"] = cuda_time_ms(torch, lambda: grad_input(torch, geo, w_t, dy), reps)
    return row


# ----------------------------------------------------------------------------
# Suites

def layer_suite(path):
    with open(path) as f:
        spec = json.load(f)
    layers = {layer["name"]: layer for layer in spec["layers"]}
    cases = [(name, "float32", "NHWC") for name in layers]
    for variant in spec.get("variants", []):
        for name in variant.get("layers", []):
            cases.append((name, variant["dtype"], variant["data_format"]))

    def geometry(layer):
        return Geometry(layer["N"], layer["H"], layer["W"], layer["C"], layer["R"], layer["S"],
                        layer["K"], 1, layer["stride"], layer["stride"], layer["dilation"],
                        layer["dilation"], layer["padding"])
    return [(name, geometry(layers[name]), dtype, fmt) for name, dtype, fmt in cases]


def random_geometry(rnd):
    while True:
        groups = rnd.choice([1, 1, 1, 2, 3, 4])
        cg = rnd.choice([1, 2, 3, 5, 8, 16, 31, 33, 64, 70, 130])
        kg = rnd.choice([1, 3, 4, 8, 17, 32, 40, 64, 96])
        r, s = rnd.randint(1, 5), rnd.randint(1, 5)
        sh, sw = rnd.randint(1, 3), rnd.randint(1, 3)
        dh, dw = rnd.choice([1, 1, 2, 3]), rnd.choice([1, 1, 2, 3])
        padding = rnd.choice(["SAME", "VALID", "EXPLICIT"])
        explicit = tuple(rnd.randint(0, 3) for _ in range(4))
        geo = Geometry(rnd.randint(1, 4), rnd.randint(1, 40), rnd.randint(1, 40), groups * cg,
                       r, s, groups * kg, groups, sh, sw, dh, dw, padding, explicit)
        if geo.valid() and geo.n * geo.h * geo.w * geo.c <= 4_000_000:
            return geo


def fmt_row(row, name):
    ok = "ok" if row["ok"] else ("NONDET" if not row["deterministic"] else "FAIL")
    ours, cudnn = row.get("ours_ms"), row.get("cudnn_ms")
    cells = [name[:16].ljust(16), row["dtype"].ljust(8), row["layout"], f"{row['rel_err']:.2e}",
             ok.ljust(6)]
    if ours is not None:
        gflops = row["flops"] / (ours * 1e6)
        cells += [f"{ours:8.3f}", f"{cudnn:8.3f}" if cudnn else "     n/a",
                  f"{cudnn / ours:6.2f}" if cudnn else "   n/a", f"{gflops:8.0f}"]
    return " | ".join(cells)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("layers", nargs="?",
                        default=os.path.join(ROOT, "tf_custom_op", "benchmark", "layers.json"))
    parser.add_argument("--sweep", type=int, default=300, help="random cases (default 300)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--reps", type=int, default=20, help="timed repetitions per layer")
    parser.add_argument("--arch", default=None,
                        help="SASS targets, e.g. 90 or 80,90 (default: this GPU's)")
    parser.add_argument("--nvcc", default=None)
    parser.add_argument("--lib", default=None, help="use this prebuilt shim library")
    parser.add_argument("--tf32", action="store_true", help="let cuDNN use TF32 for float32")
    args = parser.parse_args(argv)

    import torch
    if not torch.cuda.is_available():
        sys.exit("gpu_check: no CUDA device visible to PyTorch")
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = args.tf32
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    major, minor = torch.cuda.get_device_capability()
    archs = (args.arch.replace(",", " ").split() if args.arch else [f"{major}{minor}"])
    lib = args.lib or build_library(find_nvcc(args.nvcc), archs,
                                    os.path.join(ROOT, "build", "gpu_check"))
    kernel = Kernel(lib)
    gen = torch.Generator(device="cuda")
    gen.manual_seed(args.seed)
    print(f"# device: {torch.cuda.get_device_name()} (sm_{major}{minor}), torch {torch.__version__}, "
          f"cuDNN {torch.backends.cudnn.version()}, TF32 {'on' if args.tf32 else 'off'}")
    failures = 0

    print("\n## Layer suite (" + os.path.relpath(args.layers, ROOT) + ")")
    header = ("layer            | dtype    | fmt  | rel err  | status | ours ms  | cuDNN ms | "
              "cuDNN/ours | GFLOP/s")
    print(header)
    print("-" * len(header))
    for name, geo, dtype, fmt in layer_suite(args.layers):
        row = run_case(torch, kernel, geo, dtype, fmt == "NCHW", gen, reps=args.reps)
        failures += not row["ok"]
        print(fmt_row(row, name), flush=True)
    print("(cuDNN/ours > 1: ours is faster.)")

    print(f"\n## Randomized sweep ({args.sweep} cases, seed {args.seed})")
    rnd = random.Random(args.seed)
    worst = {}
    counts = {}
    for index in range(args.sweep):
        geo = random_geometry(rnd)
        dtype = rnd.choice(list(kernel.dtype_codes))
        nchw = rnd.random() < 0.5
        try:
            row = run_case(torch, kernel, geo, dtype, nchw, gen)
        except Exception as err:  # a launcher error is a failure, not a crash
            row = {"case": geo.describe(), "dtype": dtype, "layout": "NCHW" if nchw else "NHWC",
                   "rel_err": float("inf"), "ok": False, "deterministic": True,
                   "error": str(err)}
        counts[dtype] = counts.get(dtype, 0) + 1
        worst[dtype] = max(worst.get(dtype, 0.0), row["rel_err"])
        if not row["ok"]:
            failures += 1
            print(f"FAIL #{index} {row['case']} {dtype} {row['layout']} rel err "
                  f"{row['rel_err']:.3e} deterministic={row['deterministic']} "
                  f"{row.get('error', '')}", flush=True)
    print("dtype    | cases | worst rel err | tolerance")
    for dtype in kernel.dtype_codes:
        if dtype in counts:
            print(f"{dtype:8} | {counts[dtype]:5} | {worst[dtype]:13.2e} | {TOLERANCE[dtype]:.1e}")
    print(f"\n{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
