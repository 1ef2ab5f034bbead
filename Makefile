# Everything starts from a bare machine: `make run` (the main job) and
# `make test` create the virtual environment, install TensorFlow and the test
# tools, configure, build the op library, then run.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
TF_PACKAGE ?= tensorflow-cpu==2.21.0
LIB := tf_custom_op/_conv2d_backprop_input_op.so
SOURCES := $(shell find cc -name '*.cc' -o -name '*.h' -o -name '*.cu.cc') build_tools/op_build.py \
	build_tools/sources.py
PYTEST_ARGS ?=

.PHONY: all venv configure build run test bench clean cpu-engine-bench cpu-kernel-test cpu-kernel-emulation gpu-emulation gpu-phase-planning bazel bazel-werror build-smoke werror sanitize sanitize-build

all: build

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TF_PACKAGE)" -r requirements.txt
	touch $@

venv: $(VENV)/.installed

.tf_config.mk: $(VENV)/.installed configure.sh
	./configure.sh $(PY)

configure: .tf_config.mk

$(LIB): .tf_config.mk $(SOURCES)
	$(PY) build_tools/op_build.py $(LIB)

build: $(LIB)

# The main job: checks the op against TF's built-in op and benchmarks it.
run: build
	$(PY) -m tf_custom_op

# TF runs its CPU convolutions through oneDNN or Eigen depending on the CPU
# (TF_ENABLE_ONEDNN_OPTS forces either). Our op and its gradient must not
# depend on which: the whole suite runs with oneDNN off, then every test that
# runs TF's own kernels in-process runs again with oneDNN on.
ONEDNN_TESTS ?= tests/test_errors.py tests/test_tf_cases.py tests/test_sweep.py \
	tests/test_gradient_sweep.py tests/test_gradients.py tests/test_patching.py \
	tests/test_modes.py tests/test_fuzz.py tests/test_keras.py tests/test_tf1_compat.py \
	tests/test_readme_snippets.py

test: build
	TF_ENABLE_ONEDNN_OPTS=0 $(PY) -m pytest -q -rs $(PYTEST_ARGS) tests
	@echo "=== the same TF-facing tests with oneDNN on"
	TF_ENABLE_ONEDNN_OPTS=1 $(PY) -m pytest -q -rs $(PYTEST_ARGS) $(ONEDNN_TESTS)

bench: build
	$(PY) -m tf_custom_op.benchmark

# The CUDA kernels compiled as host C++ (cc/kernels/gpu/cuda_emulation.h) and
# checked against a naive reference: no nvcc, no GPU, no TensorFlow needed.
# What is compiled comes from build_tools/sources.py.
gpu-emulation:
	$(PYTHON) build_tools/standalone_build.py gpu-emulation --run

# The CUDA launcher's host-side phase planning (cc/kernels/gpu/phase_planning.h)
# checked against a brute-force enumeration of the taps: plain g++ only.
gpu-phase-planning:
	$(PYTHON) build_tools/standalone_build.py gpu-phase-planning --run

# Bazel build (README, "Building with Bazel"): Debian's bazel-bootstrap, no
# network. `make bazel` builds //... and runs the Bazel tests against the
# Bazel-built library; `make bazel-werror` does it with -Werror on our sources.
BAZEL ?= bazel
BAZEL_FLAGS ?=

.bazelrc.configure: .tf_config.mk
	./configure.sh $(PY)

bazel: .bazelrc.configure
	$(BAZEL) build $(BAZEL_FLAGS) //...
	$(BAZEL) test $(BAZEL_FLAGS) //...

bazel-werror: BAZEL_FLAGS += --config=werror
bazel-werror: bazel

# The setup.py library and the Bazel one (built first: `make bazel`) pass the
# same smoke check, each loaded in a process of its own.
build-smoke: build
	TF_CUSTOM_OP_REQUIRE_BAZEL=1 $(PY) -m pytest -q -rs tests/test_build_smoke.py

# Our sources with -Wall -Wextra -Werror (TF's headers are -isystem), built
# by op_build.py into build/werror/ (the package's library is not touched).
werror: .tf_config.mk
	TF_CUSTOM_OP_CXXFLAGS="-Werror $(TF_CUSTOM_OP_CXXFLAGS)" $(PY) build_tools/op_build.py \
		build/werror/_conv2d_backprop_input_op.so --build-dir build/werror/obj

# AddressSanitizer + UndefinedBehaviorSanitizer build of the library (CPU-only,
# build/asan/, the package's library is not touched) and a bounded subset of
# the tests run against it (README, "Reliability"). TF's Python process is not
# instrumented: the ASan runtime is preloaded, leak checking is off (Python and
# TF keep memory until exit) and any ASan or UBSan report aborts the process.
ASAN_LIB := build/asan/_conv2d_backprop_input_op.so
# The flags are build_tools/sources.py's (SANITIZER_FLAGS, with the checks TF's
# headers cannot take left out: SANITIZER_TF_EXCLUSIONS).
SANITIZE_FLAGS ?= $(shell $(PYTHON) -c "import sys; sys.path.insert(0, '.'); \
	from build_tools import sources; print(' '.join(sources.SANITIZER_FLAGS + sources.SANITIZER_TF_EXCLUSIONS))")
SANITIZE_TESTS ?= tests/test_hostile_inputs.py tests/test_fuzz.py tests/test_concurrency.py tests/test_tf_cases.py \
	tests/test_large.py
SANITIZE_ENV = LD_PRELOAD="$$($(CXX) -print-file-name=libasan.so) $$($(CXX) -print-file-name=libubsan.so)" \
	ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0:abort_on_error=1:detect_odr_violation=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	TF_CUSTOM_OP_LIBRARY=$(abspath $(ASAN_LIB)) TF_CUSTOM_OP_SANITIZED=1

$(ASAN_LIB): .tf_config.mk $(SOURCES)
	TF_CUSTOM_OP_CPU_ONLY=1 TF_CUSTOM_OP_CXXFLAGS="$(SANITIZE_FLAGS)" \
		$(PY) build_tools/op_build.py $@ --build-dir build/asan/obj

sanitize-build: $(ASAN_LIB)

sanitize: $(ASAN_LIB)
	$(SANITIZE_ENV) $(PY) -m pytest -q -rs -p no:cacheprovider -m "not slow" $(SANITIZE_TESTS)

clean:
	rm -rf build $(LIB) tf_custom_op/_build_info.json .tf_config.mk .bazelrc.configure
	if command -v $(BAZEL) >/dev/null && test -e bazel-bin; then $(BAZEL) clean; fi

# Standalone single-thread benchmark of the CPU engine (no TensorFlow), built
# into build/cpu_engine_bench (arguments: tools/cpu_engine_bench.cc).
cpu-engine-bench:
	$(PYTHON) build_tools/standalone_build.py cpu-engine-bench

# Every CPU micro-kernel tier this CPU has, alone and inside the engine,
# against scalar loops; tiers the CPU lacks are listed as skipped (no TF).
cpu-kernel-test:
	$(PYTHON) build_tools/standalone_build.py cpu-kernel-test --werror --run

# The same tester with the AVX-512 and AVX512_BF16 kernels compiled as plain
# C++ (cc/kernels/cpu/x86_emulation.h): they run on any x86-64 CPU.
cpu-kernel-emulation:
	$(PYTHON) build_tools/standalone_build.py cpu-kernel-emulation --werror --run
