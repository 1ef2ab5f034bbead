"""Runs part of the pytest suite inside a Bazel test (//:suite_test).

    bazel test //:suite_test                                   # default files
    bazel test //:suite_test --test_arg=tests/test_errors.py   # others

The package and its Bazel-built library come from the test's runfiles
(tf_custom_op/ holds both), so the suite exercises the Bazel build. Arguments
are pytest arguments; without any, the files in DEFAULT_FILES run.
"""
import os
import sys

DEFAULT_FILES = ["tests/test_tf1_compat.py", "tests/test_errors.py"]


def main(argv):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    os.chdir(root)
    sys.path.insert(0, root)
    os.environ.pop("TF_CUSTOM_OP_LIBRARY", None)  # the library in the runfiles
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import pytest
    import tf_custom_op

    library = tf_custom_op.library_path()
    print(f"bazel_pytest: op library {library}: {tf_custom_op.build_info(library)}", flush=True)
    args = argv or DEFAULT_FILES
    # Bazel's runfiles are read-only: no cache, no bytecode.
    sys.dont_write_bytecode = True
    return pytest.main(["-q", "-rs", "-p", "no:cacheprovider", "--rootdir", root] + args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
