"""Benchmark of tf_custom_op.conv2d_backprop_input against TF's built-in op.

`python -m tf_custom_op.benchmark [layers.json] [--threads N] [--repeats N]`
"""
