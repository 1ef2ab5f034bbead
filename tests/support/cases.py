"""The tests' case model: one convolution configuration (`Case`), the random
sweep of them, the medium-sized hand-picked ones, and their inputs."""
import dataclasses
import random

import numpy as np
import tensorflow as tf

from support.reference import output_size
from tf_custom_op import dtypes
from tf_custom_op.geometry import explicit_paddings_of, padding_pairs

# The op's dtypes (tf_custom_op/dtypes.py) as TF dtypes.
DTYPES = {name: tf.as_dtype(name) for name in dtypes.NAMES}

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

    @classmethod
    def forward(cls, x_shape, filter_shape, strides=(1, 1), padding="VALID", dtype="float32",
                data_format="NHWC", dilations=(1, 1), seed=0):
        """The case of a forward convolution's shapes: x_shape [N, H, W, C]
        (NHWC whatever `data_format`), filter_shape [R, S, C / groups, K],
        spatial strides and dilations, and padding "SAME", "VALID" or
        ((top, bottom), (left, right))."""
        n, h, w, c = x_shape
        r, s, cg, k = filter_shape
        return cls(dtype, data_format, n, h, w, c, cg, k, r, s, tuple(strides), tuple(dilations),
                   padding if isinstance(padding, str) else tuple(map(tuple, padding)),
                   seed=seed)

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
        return self.dx_shape_four()

    def dx_shape_four(self):
        """dx's 4-D shape in the case's layout, whatever form input_sizes takes."""
        return self.four(self.batch, self.in_h, self.in_w, self.in_depth)

    def dx_shape(self):
        """The result's full shape (the 2-value form takes the filter's depth)."""
        if self.two_value_sizes:
            return self.four(self.batch, self.in_h, self.in_w, self.filter_depth)
        return self.input_sizes()

    def strides(self):
        return self.four(1, self.stride[0], self.stride[1], 1)

    def dilations(self):
        return self.four(1, self.dilation[0], self.dilation[1], 1)

    def padding_arg(self):
        if isinstance(self.padding, str):
            return self.padding
        return padding_pairs(explicit_paddings_of(self.padding, self.data_format))

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


def random_wide_cases(count, seed, min_width=34, max_width=48):
    """Random configurations whose rows are wide enough for phase rows
    longer than 2 MR + 1 pixels of every micro-kernel (MR is at most 16),
    half of them dilated and strided: several whole tiles per phase row and
    the split of what is left, where random_cases' rows of 12 or fewer
    pixels never reach."""
    rnd = random.Random(seed)
    cases = []
    for case in random_cases(count * 4, seed):
        if len(cases) == count:
            break
        stride = case.stride
        dilation = case.dilation if len(cases) % 2 else (rnd.randint(2, 3), rnd.randint(2, 3))
        if len(cases) % 2 == 0:
            stride = (rnd.randint(1, 2), rnd.randint(2, 3))
        # Phase rows of in_w / stride pixels: min_width to max_width.
        wide = dataclasses.replace(case, in_w=rnd.randint(min_width * stride[1],
                                                          max_width * stride[1]),
                                   batch=min(case.batch, 1) or 1, stride=stride,
                                   dilation=dilation, two_value_sizes=False)
        p, q = wide.out_hw()
        if p <= 0 or q <= 0:
            continue
        cases.append(wide)
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
