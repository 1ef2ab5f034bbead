"""Shared test machinery: random configurations, inputs, the two oracles
(TensorFlow's built-in op and the NumPy reference) and tolerant comparison."""
import dataclasses
import json
import os
import random
import subprocess
import sys
import textwrap

import numpy as np
import tensorflow as tf

import tf_custom_op
from reference import conv2d_backprop_input_ref, output_size
from support.tf_oracle import EIGEN

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.dirname(os.path.abspath(__file__))

DTYPES = {
    "float16": tf.float16,
    "bfloat16": tf.bfloat16,
    "float32": tf.float32,
    "float64": tf.float64,
    "int32": tf.int32,
}

# Relative tolerances, applied to sum(|dy| * |w|) (the magnitude of the
# accumulated terms): covers float accumulation in any order. half and
# bfloat16 are additionally allowed one unit in the last place of the result
# (rounding once from a float accumulator).
ACC_RTOL = {"float16": 4e-6, "bfloat16": 4e-6, "float32": 4e-6,
            "float64": 1e-13, "int32": 0.0}
ULP_REL = {"float16": 2.0 ** -10, "bfloat16": 2.0 ** -7}
TINY = {"float16": 2.0 ** -24, "bfloat16": 1e-30, "float32": 1e-30,
        "float64": 1e-300, "int32": 0.0}


@dataclasses.dataclass
class Case:
    dtype: str
    data_format: str
    batch: int
    in_h: int
    in_w: int
    in_depth: int       # C (= groups * C_g)
    filter_depth: int   # C_g
    out_depth: int      # K
    k_h: int
    k_w: int
    stride: tuple
    dilation: tuple
    padding: object     # "SAME" / "VALID" / ((t, b), (l, r))
    two_value_sizes: bool = False
    seed: int = 0

    @property
    def groups(self):
        return self.in_depth // self.filter_depth

    def mode(self):
        return self.padding if isinstance(self.padding, str) else "EXPLICIT"

    def out_hw(self):
        pads = ((0, 0), (0, 0)) if isinstance(self.padding, str) else self.padding
        return (output_size(self.in_h, self.k_h, self.stride[0], self.dilation[0],
                            self.mode(), pads[0]),
                output_size(self.in_w, self.k_w, self.stride[1], self.dilation[1],
                            self.mode(), pads[1]))

    def nchw(self):
        return self.data_format == "NCHW"

    def four(self, n, h, w, c):
        return [n, c, h, w] if self.nchw() else [n, h, w, c]

    def input_sizes(self):
        if self.two_value_sizes:
            return [self.in_h, self.in_w]
        return self.four(self.batch, self.in_h, self.in_w, self.in_depth)

    def strides(self):
        return self.four(1, self.stride[0], self.stride[1], 1)

    def dilations(self):
        return self.four(1, self.dilation[0], self.dilation[1], 1)

    def padding_arg(self):
        if isinstance(self.padding, str):
            return self.padding
        (t, b), (l, r) = self.padding
        if self.nchw():
            return [[0, 0], [0, 0], [t, b], [l, r]]
        return [[0, 0], [t, b], [l, r], [0, 0]]

    def dy_shape(self):
        p, q = self.out_hw()
        return self.four(self.batch, p, q, self.out_depth)

    def filter_shape(self):
        return [self.k_h, self.k_w, self.filter_depth, self.out_depth]

    def __str__(self):
        pad = self.padding if isinstance(self.padding, str) else \
            "x".join(f"{a}{b}" for a, b in self.padding)
        return (f"{self.dtype}-{self.data_format}-n{self.batch}-{self.in_h}x{self.in_w}"
                f"x{self.in_depth}-g{self.groups}-k{self.k_h}x{self.k_w}x{self.out_depth}"
                f"-s{self.stride[0]}{self.stride[1]}-d{self.dilation[0]}{self.dilation[1]}"
                f"-{pad}{'-2v' if self.two_value_sizes else ''}")


def random_cases(count, seed):
    """`count` valid random configurations (deterministic for `seed`)."""
    rnd = random.Random(seed)
    dtypes = ["float32"] * 3 + ["float64"] * 2 + ["float16", "bfloat16", "int32"] * 2
    cases = []
    while len(cases) < count:
        groups = rnd.choice([1, 1, 1, 2, 3])
        filter_depth = rnd.randint(1, 9 // groups)
        out_depth = groups * rnd.randint(1, 9 // groups)
        stride = (rnd.randint(1, 3), rnd.randint(1, 3))
        if rnd.random() < 0.5:
            dilation = (1, 1)
        else:
            dilation = (rnd.randint(1, 3), rnd.randint(1, 3))
        mode = rnd.choice(["SAME", "VALID", "EXPLICIT"])
        if mode == "EXPLICIT":
            padding = ((rnd.randint(0, 3), rnd.randint(0, 3)),
                       (rnd.randint(0, 3), rnd.randint(0, 3)))
        else:
            padding = mode
        case = Case(
            dtype=rnd.choice(dtypes),
            data_format=rnd.choice(["NHWC", "NCHW"]),
            batch=rnd.choice([0, 1, 1, 2, 2, 3, 3, 3, 1, 2, 3, 2]),
            in_h=rnd.randint(1, 12), in_w=rnd.randint(1, 12),
            in_depth=groups * filter_depth, filter_depth=filter_depth,
            out_depth=out_depth, k_h=rnd.randint(1, 5), k_w=rnd.randint(1, 5),
            stride=stride, dilation=dilation, padding=padding,
            two_value_sizes=(groups == 1 and rnd.random() < 0.1),
            seed=rnd.randrange(1 << 30))
        p, q = case.out_hw()
        if p < 0 or q < 0:
            continue
        if (p == 0 or q == 0) and rnd.random() < 0.7:
            continue  # keep some empty-out_backprop cases, not too many
        cases.append(case)
    return cases


# Larger shapes (several register tiles, channel tails), shared by
# test_tf_cases.py and the portable-kernel run in test_sweep.py.
MEDIUM_CASES = [
    Case("float32", "NHWC", 2, 17, 15, 37, 37, 41, 3, 3, (1, 1), (1, 1), "SAME", seed=1),
    Case("float32", "NHWC", 1, 16, 16, 24, 24, 48, 4, 4, (2, 2), (1, 1), "SAME", seed=2),
    Case("float32", "NCHW", 2, 13, 11, 19, 19, 33, 3, 3, (2, 1), (1, 1), "VALID", seed=3),
    Case("float32", "NHWC", 1, 20, 18, 16, 16, 17, 3, 3, (1, 1), (2, 3), ((2, 2), (3, 3)), seed=4),
    Case("float32", "NHWC", 2, 14, 14, 32, 8, 40, 3, 3, (2, 2), (1, 1), "SAME", seed=5),
    Case("float64", "NHWC", 2, 15, 13, 25, 25, 26, 3, 3, (1, 2), (1, 1), ((1, 0), (0, 2)), seed=6),
    Case("float64", "NCHW", 1, 12, 12, 18, 6, 21, 2, 2, (2, 2), (2, 1), "SAME", seed=7),
    Case("float16", "NHWC", 2, 12, 12, 20, 20, 24, 3, 3, (2, 2), (1, 1), "SAME", seed=8),
    Case("bfloat16", "NCHW", 1, 10, 14, 24, 12, 16, 3, 3, (1, 1), (1, 1), "VALID", seed=9),
    Case("int32", "NHWC", 2, 11, 13, 33, 33, 29, 3, 3, (3, 2), (1, 1), "SAME", seed=10),
    Case("float32", "NHWC", 3, 9, 9, 64, 64, 64, 1, 1, (1, 1), (1, 1), "VALID", seed=11),
    Case("float32", "NHWC", 2, 15, 15, 20, 20, 30, 1, 1, (2, 2), (1, 1), "VALID", seed=12),
]


def make_inputs(case):
    """(w, dy) as NumPy arrays of the test dtype (bfloat16 as float32 holding
    bfloat16-representable values) plus their exact float64 / int64 values."""
    rng = np.random.default_rng(case.seed)
    if case.dtype == "int32":
        w = rng.integers(-7, 8, case.filter_shape()).astype(np.int32)
        dy = rng.integers(-7, 8, case.dy_shape()).astype(np.int32)
        return w, dy
    w = rng.standard_normal(case.filter_shape())
    dy = rng.standard_normal(case.dy_shape())
    # Round to the test dtype so the reference sees exactly the op's inputs.
    w = tf.cast(tf.constant(w, tf.float32), DTYPES[case.dtype]).numpy()
    dy = tf.cast(tf.constant(dy, tf.float32), DTYPES[case.dtype]).numpy()
    return w, dy


def as_f64(x):
    if isinstance(x, tf.Tensor):
        if x.dtype == tf.bfloat16:
            x = tf.cast(x, tf.float32)
        x = x.numpy()
    x = np.asarray(x)
    if x.dtype.kind in "iu":
        return x.astype(np.int64)
    return x.astype(np.float64)


def run_ours(case, w, dy):
    return tf_custom_op.conv2d_backprop_input(
        case.input_sizes(), tf.constant(w), tf.constant(dy),
        strides=case.strides(), padding=case.padding_arg(),
        data_format=case.data_format, dilations=case.dilations())


def run_tf(case, w, dy):
    """TF's built-in result as computed by its reference (Eigen) kernel, the
    same on every CPU (support/tf_oracle.py), or None where that kernel
    refuses the configuration (NCHW, dilation, groups)."""
    try:
        return EIGEN.call(
            "v1", case.input_sizes(), w, dy,
            strides=case.strides(), padding=case.padding_arg(),
            data_format=case.data_format, dilations=case.dilations())
    except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError) as err:
        # TF's CPU kernels cover at least NHWC without dilation or groups:
        # a refusal there would mean a broken oracle.
        assert (case.data_format == "NCHW" or case.dilation != (1, 1)
                or case.groups > 1), f"TF refused {case}: {err}"
        return None


def reference(case, w, dy):
    return conv2d_backprop_input_ref(
        case.input_sizes(), as_f64(w), as_f64(dy), case.strides(),
        case.padding_arg(), case.data_format, case.dilations())


def reference_abs(case, w, dy):
    return conv2d_backprop_input_ref(
        case.input_sizes(), np.abs(as_f64(w)), np.abs(as_f64(dy)),
        case.strides(), case.padding_arg(), case.data_format, case.dilations())


def assert_close(case, got, want, magnitude, what, ulps=1.0, acc_rtol=None):
    """|got - want| <= ulps * ulp(want) + acc_rtol * magnitude (elementwise)."""
    got = as_f64(got)
    want = np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape} ({case})"
    if case.dtype == "int32":
        # Exact, with int32 wrap-around.
        want32 = (want.astype(np.int64) & 0xFFFFFFFF).astype(np.uint32).view(np.int32)
        bad = got != want32
        assert not bad.any(), (
            f"{what}: {bad.sum()} of {bad.size} int32 elements differ ({case}); "
            f"first at {np.argwhere(bad)[0]}: got {got[bad][0]} want {want32[bad][0]}")
        return
    if acc_rtol is None:
        acc_rtol = ACC_RTOL[case.dtype]
    tol = acc_rtol * magnitude + TINY[case.dtype]
    if case.dtype in ULP_REL:
        tol = tol + ulps * ULP_REL[case.dtype] * np.abs(want)
    err = np.abs(got - want)
    bad = ~(err <= tol)
    assert not bad.any(), (
        f"{what}: {bad.sum()} of {bad.size} elements out of tolerance ({case}); "
        f"max err {err.max():.3g}; first at {np.argwhere(bad)[0]}: "
        f"got {got[bad][0]!r} want {want[bad][0]!r} tol {np.broadcast_to(tol, err.shape)[bad][0]:.3g}")


def check_case(case, compare_tf=True):
    """Runs our op on `case` and checks it against the NumPy reference and
    (where TF's CPU kernel accepts the configuration) TF's built-in op.

    Returns "tf" when TF's op was compared, "ref" otherwise.
    """
    w, dy = make_inputs(case)
    ours = run_ours(case, w, dy)
    assert ours.dtype == DTYPES[case.dtype], f"dtype {ours.dtype} ({case})"
    assert ours.shape.as_list() == list(_full_shape(case)), (
        f"shape {ours.shape} ({case})")
    ref = reference(case, w, dy)
    mag = reference_abs(case, w, dy)
    assert_close(case, ours, ref, mag, "vs NumPy reference")
    if not compare_tf:
        return "ref"
    theirs = run_tf(case, w, dy)
    if theirs is None:
        return "ref"
    assert theirs.shape == ours.shape
    if case.dtype in ("float16", "bfloat16"):
        # TF's Eigen half/bfloat16 path accumulates in the narrow type (ours
        # accumulates in float and was checked tightly above): compare loosely.
        assert_close(case, ours, as_f64(theirs), mag, "vs TF built-in", ulps=2.0,
                     acc_rtol=8 * ULP_REL[case.dtype])
    else:
        assert_close(case, ours, as_f64(theirs), mag, "vs TF built-in")
    return "tf"


def _full_shape(case):
    if case.two_value_sizes:
        return case.four(case.batch, case.in_h, case.in_w, case.filter_depth)
    return case.input_sizes()


def run_python(code, env=None, timeout=300):
    """Runs `code` in a fresh interpreter (tests/ and the repo on sys.path).

    Returns the CompletedProcess; a crash shows up as a negative returncode.
    """
    full_env = dict(os.environ)
    full_env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    full_env["PYTHONPATH"] = os.pathsep.join(
        [TESTS, ROOT] + ([full_env["PYTHONPATH"]] if full_env.get("PYTHONPATH") else []))
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, env=full_env,
                          timeout=timeout, cwd=ROOT)


def run_cases_in_subprocess(names):
    """Runs error_cases.DANGEROUS[names] through our op in fresh interpreters.

    A crash ends its interpreter (recorded for the case that was running);
    the remaining cases go on in a new one. Returns name -> outcome dict.
    """
    results = {}
    todo = list(names)
    while todo:
        proc = run_python("import error_cases; error_cases.main(%r)" % (todo,), timeout=600)
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
