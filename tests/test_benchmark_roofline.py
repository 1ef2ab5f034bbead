"""The benchmark's roofline (report.roofline_ms) counts what a layer must do.

Its compute side is the multiply-adds that read data, not padding
(geometry.taps_inside); its memory side is dy, the filter and dx moved once
(suite.Case.min_bytes). Both are checked against TF here: a convolution of
ones with ones gives, at each output, the number of taps that land inside
the input.
"""
import numpy as np
import pytest
import tensorflow as tf

from tf_custom_op.benchmark import report, suite
from tf_custom_op.geometry import taps_inside

AXES = [
    # size, filter, stride, dilation, padding
    (33, 3, 1, 6, "SAME"),
    (33, 3, 1, 12, "SAME"),
    (7, 5, 1, 1, "SAME"),
    (14, 5, 2, 1, "SAME"),
    (28, 4, 2, 1, "SAME"),
    (9, 3, 2, 2, "VALID"),
    (56, 1, 1, 1, "SAME"),
    (5, 3, 3, 1, "SAME"),
]


@pytest.mark.parametrize("size,filter_size,stride,dilation,padding", AXES)
def test_taps_inside_counts_what_tf_multiplies(size, filter_size, stride, dilation, padding):
    ones = tf.ones([1, 1, size, 1])
    taps = tf.ones([1, filter_size, 1, 1])
    counts = tf.nn.conv2d(ones, taps, strides=[1, 1, stride, 1], padding=padding,
                          dilations=[1, 1, dilation, 1])
    assert taps_inside(size, filter_size, stride, dilation, padding) == \
        int(np.sum(counts.numpy()))


def _layer(**overrides):
    layer = dict(name="t", N=2, H=33, W=33, C=16, R=3, S=3, K=8, stride=1, dilation=6,
                 padding="SAME", groups=1)
    layer.update(overrides)
    return layer


def test_roofline_takes_the_longer_of_compute_and_memory():
    case = suite.Case(_layer())
    # Data FLOPs: 2 N K C x (row pairs inside) x (column pairs inside).
    assert case.data_flops == 2.0 * 2 * 8 * 16 * 87 * 87
    assert case.data_flops < case.flops
    # dy [2, 33, 33, 8], filter [3, 3, 16, 8], dx [2, 33, 33, 16], float32.
    assert case.min_bytes == 4 * (2 * 33 * 33 * 8 + 3 * 3 * 16 * 8 + 2 * 33 * 33 * 16)
    roof, bound = report.roofline_ms(case, peak=1.0, bandwidth=1e6)
    assert bound == "fma" and roof == pytest.approx(case.data_flops / 1e9 * 1e3)
    roof, bound = report.roofline_ms(case, peak=1e6, bandwidth=1e-3)
    assert bound == "mem" and roof == pytest.approx(case.min_bytes / 1e6 * 1e3)


def test_roofline_only_for_float32():
    assert report.roofline_ms(suite.Case(_layer(), dtype="bfloat16"), 1.0, 1.0) == (None, None)
