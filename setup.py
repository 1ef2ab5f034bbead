"""Builds the tf_custom_op package and its op library.

The library is compiled with g++ (and nvcc for the CUDA kernel when
configure.sh found one) using TensorFlow's own compile and link flags, so the
build must see TensorFlow: use `pip install --no-build-isolation .` or
`python setup.py build_ext --inplace`. TensorFlow is deliberately not in
install_requires: tensorflow-cpu and the GPU `tensorflow` wheel are different
distributions, and requiring one would pull it on top of the other.
"""
import os
import sys

from setuptools import find_packages, setup
from setuptools.command.build_ext import build_ext
from setuptools import Extension

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_tools import op_build  # noqa: E402


class BuildOpLibrary(build_ext):
    """Compiles the op library with per-file flags (ISA-specific kernels)."""

    def get_ext_filename(self, fullname):
        # A tf.load_op_library library, not a Python extension module: keep the
        # plain name that tf_custom_op/_loader.py looks for (no ABI suffix).
        return os.path.join(*fullname.split(".")) + ".so"

    def build_extension(self, ext):
        target = self.get_ext_fullpath(ext.name)
        op_build.build_library(target, build_dir=os.path.join(self.build_temp, "op"))


setup(
    name="tf_custom_op",
    version="0.1.0",
    description="conv2d_backprop_input as a TensorFlow custom op with its own CPU and CUDA kernels",
    packages=find_packages(include=["tf_custom_op", "tf_custom_op.*"]),
    package_data={"tf_custom_op": ["_build_info.json"], "tf_custom_op.benchmark": ["layers.json", "corpus.json"]},
    ext_modules=[Extension("tf_custom_op._conv2d_backprop_input_op", sources=[])],
    cmdclass={"build_ext": BuildOpLibrary},
    python_requires=">=3.9",
    install_requires=["numpy"],
    zip_safe=False,
)
