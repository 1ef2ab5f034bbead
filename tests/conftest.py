"""Shared pytest setup: quiet TensorFlow logs, seed, and the op library."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

import tf_custom_op  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session", autouse=True)
def _op_library_loaded():
    # Fail loudly (not skip) when the library is missing: `make test` builds it.
    tf_custom_op.op_module()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
