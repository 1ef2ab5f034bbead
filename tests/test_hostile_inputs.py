"""Malformed and extreme inputs (docs/CONTRACT.md sections 3 and 7), in child processes.

Every case runs through the Python wrapper, the raw generated op (eagerly and
in a tf.function) and a hand-built GraphDef in a tf.compat.v1.Session (with
Placeholders the shape function cannot see through, and with Consts), in a
child process (tests/_hostile_runner.py) so that a crash or a hang fails the
test instead of killing pytest. TensorFlow's own op is only ever run in child
processes too: many of these inputs crash it.

Each case must either raise a clear error (InvalidArgument, Unimplemented,
ValueError, ResourceExhausted where the output cannot fit) or give the right
result: zeros, the float64 NumPy reference below, or, for non-finite values,
exactly the built-in op's result (NaN and Inf in the same places).

A survey of the built-in op on the same cases (which of them crash TF):

    .venv/bin/python tests/test_hostile_inputs.py --survey
"""
import json
import os
import sys
import tempfile

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _hostile_runner  # noqa: E402

ALL_MODES = ["wrapper", "raw", "function", "xla", "graphdef", "graphdef_const"]
CLEAR_ERRORS = {"InvalidArgumentError", "UnimplementedError", "ValueError"}
TOO_LARGE = {"ResourceExhaustedError", "InvalidArgumentError"}
I32_MAX = 2**31 - 1


def t(shape, dtype="float32", fill="randint", seed=0, **extra):
    return dict(shape=list(shape), dtype=dtype, fill=fill, seed=seed, **extra)


def sizes(value, dtype="int32"):
    return {"value": value, "dtype": dtype}


BASE = dict(input_sizes=sizes([2, 5, 5, 4]), filter=t([3, 3, 4, 6]),
            out_backprop=t([2, 3, 3, 6], seed=1), strides=[1, 1, 1, 1], padding="VALID")


def case(name, expect="error", errors=CLEAR_ERRORS, modes=ALL_MODES, **changes):
    """A case: BASE with `changes`; `expect` is error, zeros, reference or builtin."""
    spec = dict(BASE, name=name, expect=expect, errors=sorted(errors), modes=list(modes))
    spec.update(changes)
    return spec


CASES = [
    # --- attributes: strides, dilations, padding, data_format -------------------------
    case("strides_len0", strides=[]),
    case("strides_len2", strides=[1, 1]),
    case("strides_len3", strides=[1, 1, 1]),
    case("strides_len5", strides=[1, 1, 1, 1, 1]),
    case("strides_batch", strides=[2, 1, 1, 1]),
    case("strides_depth", strides=[1, 1, 1, 2]),
    case("strides_zero", strides=[1, 0, 1, 1]),
    case("strides_zero_cols", strides=[1, 1, 0, 1]),
    case("strides_negative", strides=[1, -1, 1, 1]),
    case("strides_beyond_int32", strides=[1, 2**40, 1, 1]),
    case("strides_int32_max", expect="reference", strides=[1, I32_MAX, I32_MAX, 1],
         out_backprop=t([2, 1, 1, 6], seed=1)),
    case("dilations_len3", dilations=[1, 1, 1]),
    case("dilations_batch", dilations=[2, 1, 1, 1]),
    case("dilations_depth", dilations=[1, 1, 1, 2]),
    case("dilations_zero", dilations=[1, 0, 1, 1]),
    case("dilations_negative", dilations=[1, 1, -3, 1]),
    case("dilations_huge_valid", dilations=[1, I32_MAX, 1, 1]),
    case("dilations_huge_same", expect="reference", padding="SAME",
         dilations=[1, I32_MAX, I32_MAX, 1], out_backprop=t([2, 5, 5, 6], seed=1)),
    case("explicit_len7", padding="EXPLICIT", explicit_paddings=[0, 0, 1, 1, 1, 1, 0],
         wrapper_padding=[[0, 0], [1, 1], [1, 1]]),
    case("explicit_len0", padding="EXPLICIT", explicit_paddings=[],
         wrapper_padding="EXPLICIT"),
    case("explicit_negative", padding="EXPLICIT", explicit_paddings=[0, 0, -1, 0, 0, 0, 0, 0]),
    case("explicit_batch", padding="EXPLICIT", explicit_paddings=[1, 0, 0, 0, 0, 0, 0, 0]),
    case("explicit_depth", padding="EXPLICIT", explicit_paddings=[0, 0, 0, 0, 0, 0, 0, 1]),
    case("explicit_int64_max", padding="EXPLICIT",
         explicit_paddings=[0, 0, 2**63 - 1, 2**63 - 1, 0, 0, 0, 0]),
    # Huge padding and stride that still give a consistent (tiny) out_backprop:
    # rows (5 + 2^31 - 3 + s) / s = 2 with s = 2^31 - 1.
    case("explicit_huge_consistent", expect="reference", padding="EXPLICIT",
         explicit_paddings=[0, 0, 2**31, 0, 0, 0, 0, 0], strides=[1, I32_MAX, 1, 1],
         out_backprop=t([2, 2, 3, 6], seed=1)),
    case("same_with_paddings", padding="SAME", explicit_paddings=[0] * 8,
         wrapper_padding=[[0, 0], [0, 0], [0, 0]]),
    case("padding_unknown", padding="FULL"),
    case("data_format_vect_c", data_format="NCHW_VECT_C"),
    case("data_format_unknown", data_format="HWNC"),
    case("nchw_strides_depth", data_format="NCHW", strides=[1, 2, 1, 1],
         input_sizes=sizes([2, 4, 5, 5]), out_backprop=t([2, 6, 3, 3], seed=1)),
    case("nchw_explicit_depth", data_format="NCHW", padding="EXPLICIT",
         explicit_paddings=[0, 0, 1, 0, 0, 0, 0, 0],
         input_sizes=sizes([2, 4, 5, 5]), out_backprop=t([2, 6, 3, 3], seed=1)),
    case("nchw_spatial_mismatch", data_format="NCHW",
         input_sizes=sizes([2, 4, 5, 5]), out_backprop=t([2, 6, 3, 4], seed=1)),

    # --- input_sizes -------------------------------------------------------------------
    case("sizes_len0", input_sizes=sizes([])),
    case("sizes_len1", input_sizes=sizes([5])),
    case("sizes_len3", input_sizes=sizes([2, 5, 5])),
    case("sizes_len5", input_sizes=sizes([2, 5, 5, 4, 1])),
    case("sizes_scalar", input_sizes=sizes(5)),
    case("sizes_matrix", input_sizes=sizes([[2, 5], [5, 4]])),
    case("sizes_negative_rows", input_sizes=sizes([2, -5, 5, 4])),
    case("sizes_negative_batch", input_sizes=sizes([-2, 5, 5, 4])),
    case("sizes_negative_depth", input_sizes=sizes([2, 5, 5, -4])),
    case("sizes_2value_negative", input_sizes=sizes([2, -2])),
    case("sizes_int64", input_sizes=sizes([2, 5, 5, 4], "int64"),
         errors=CLEAR_ERRORS | {"TypeError"}),
    # 2^64 elements: wraps to 0 in int64.
    case("sizes_int64_wrap", input_sizes=sizes([65536, 65536, 65536, 65536])),
    case("sizes_int64_overflow", input_sizes=sizes([I32_MAX] * 4)),
    # 2^43 elements, consistent with a 1x1 out_backprop (stride 2^20): wraps to 0 in
    # int32 and cannot be allocated anywhere.
    case("sizes_int32_wrap_too_large", errors=TOO_LARGE,
         input_sizes=sizes([1, 2**20, 2**20, 8]), strides=[1, 2**20, 2**20, 1],
         filter=t([1, 1, 8, 2]), out_backprop=t([1, 1, 1, 2], seed=1)),
    # 2^62 elements (fits int64, bytes do not).
    case("sizes_bytes_overflow", errors=TOO_LARGE,
         input_sizes=sizes([1, I32_MAX, I32_MAX, 1]), strides=[1, I32_MAX, I32_MAX, 1],
         filter=t([1, 1, 1, 2]), out_backprop=t([1, 1, 1, 2], seed=1)),
    # TF advisory: conv2d_transpose output_shape [114078056, 179835296].
    case("sizes_2value_advisory_huge", input_sizes=sizes([114078056, 179835296])),
    case("sizes_2value_advisory_huge_consistent", errors=TOO_LARGE,
         input_sizes=sizes([114078056, 179835296]), strides=[1, 114078056, 179835296, 1],
         filter=t([1, 1, 4, 6]), out_backprop=t([2, 1, 1, 6], seed=1)),
    # The same advisories through conv2d_transpose (output_shape [2, -2] and the huge one).
    case("transpose_output_shape_negative", modes=ALL_MODES + ["transpose"],
         input_sizes=sizes([2, -2]), strides=[1, 2, 2, 1], padding="SAME"),
    case("transpose_output_shape_huge", modes=ALL_MODES + ["transpose"], errors=TOO_LARGE,
         input_sizes=sizes([114078056, 179835296]), strides=[1, 2, 2, 1], padding="SAME"),
    case("transpose_ok", expect="reference", modes=ALL_MODES + ["transpose"],
         input_sizes=sizes([2, 6, 6, 4]), strides=[1, 2, 2, 1], padding="SAME"),
    case("sizes_2value_scalar_filter", input_sizes=sizes([5, 5]), filter=t([])),
    case("sizes_2value_rank3_filter", input_sizes=sizes([5, 5]), filter=t([3, 3, 4])),
    case("sizes_2value_ok", expect="reference", input_sizes=sizes([5, 5])),

    # --- filter and out_backprop ---------------------------------------------------------
    case("filter_rank0", filter=t([])),
    case("filter_rank3", filter=t([3, 3, 4])),
    case("filter_rank5", filter=t([3, 3, 4, 6, 1])),
    case("out_backprop_rank0", out_backprop=t([])),
    case("out_backprop_rank3", out_backprop=t([3, 3, 6])),
    case("out_backprop_rank5", out_backprop=t([2, 3, 3, 6, 1])),
    case("batch_mismatch", input_sizes=sizes([3, 5, 5, 4])),
    case("depth_mismatch", filter=t([3, 3, 4, 7])),
    case("rows_mismatch", out_backprop=t([2, 4, 3, 6])),
    case("cols_mismatch", out_backprop=t([2, 3, 2, 6])),
    case("same_rows_mismatch", padding="SAME", out_backprop=t([2, 5, 4, 6])),
    case("depth_not_divisible", input_sizes=sizes([2, 5, 5, 6])),
    case("groups_out_not_divisible", input_sizes=sizes([2, 5, 5, 8]),
         filter=t([3, 3, 4, 5]), out_backprop=t([2, 3, 3, 5])),
    case("filter_depth0", filter=t([3, 3, 0, 6])),
    case("filter_depth0_input_depth0", input_sizes=sizes([2, 5, 5, 0]), filter=t([3, 3, 0, 6])),
    case("dtype_mismatch", out_backprop=t([2, 3, 3, 6], "float64"),
         errors=CLEAR_ERRORS | {"TypeError"}),
    case("dtype_unsupported", filter=t([3, 3, 4, 6], "int64"),
         out_backprop=t([2, 3, 3, 6], "int64"), errors=CLEAR_ERRORS | {"TypeError"}),

    # --- empty tensors and zero sizes (SPEC 3.6 and the advisories of section 7) -------
    case("advisory_filter_0x1x5x0", expect="zeros", padding="SAME",
         input_sizes=sizes([52, 1, 1, 5]), filter=t([0, 1, 5, 0]),
         out_backprop=t([52, 1, 1, 0])),
    case("advisory_out_backprop_3x1x0x3", expect="zeros", strides=[1, 1, 2, 1],
         input_sizes=sizes([3, 1, 1, 2]), filter=t([1, 3, 2, 3]),
         out_backprop=t([3, 1, 0, 3])),
    case("advisory_filter_1x0x1x1", expect="zeros", input_sizes=sizes([1, 2, 2, 1]),
         filter=t([1, 0, 1, 1]), out_backprop=t([1, 2, 3, 1])),
    case("empty_batch", expect="reference", input_sizes=sizes([0, 5, 5, 4]),
         out_backprop=t([0, 3, 3, 6])),
    case("empty_out_depth", expect="zeros", filter=t([3, 3, 4, 0]),
         out_backprop=t([2, 3, 3, 0])),
    case("empty_spatial_same", expect="reference", padding="SAME",
         input_sizes=sizes([2, 0, 0, 4]), out_backprop=t([2, 0, 0, 6])),
    case("empty_valid_truncation", expect="zeros", strides=[1, 2, 2, 1],
         input_sizes=sizes([1, 1, 1, 4]), filter=t([4, 4, 4, 2]),
         out_backprop=t([1, 0, 0, 2])),
    case("empty_negative_output", input_sizes=sizes([2, 1, 1, 4]),
         out_backprop=t([2, 0, 0, 6])),
    case("empty_nchw_zero_filter", expect="zeros", data_format="NCHW",
         input_sizes=sizes([2, 4, 5, 5]), filter=t([0, 0, 4, 6]),
         out_backprop=t([2, 6, 6, 6], seed=1)),

    # Huge dimensions on tensors with no elements, and extreme group counts.
    case("filter_huge_rows_empty_same", expect="zeros", padding="SAME",
         filter=t([2**40, 0, 4, 6]), out_backprop=t([2, 5, 5, 6], seed=1)),
    case("filter_huge_rows_empty_valid", filter=t([2**40, 0, 4, 6])),
    case("filter_huge_rows_empty_huge_dilation", padding="SAME", dilations=[1, I32_MAX, 1, 1],
         filter=t([2**40, 0, 4, 6]), out_backprop=t([2, 5, 5, 6], seed=1),
         errors=CLEAR_ERRORS),
    # (Not I32_MAX x I32_MAX: NumPy cannot describe even an empty array that large.)
    case("empty_batch_huge_spatial", expect="zeros", strides=[1, I32_MAX, 2**20, 1],
         input_sizes=sizes([0, I32_MAX, 2**20, 4]), out_backprop=t([0, 1, 1, 6])),
    case("groups_2pow20_no_out_depth", expect="zeros", input_sizes=sizes([1, 2, 2, 2**20]),
         filter=t([1, 1, 1, 0]), out_backprop=t([1, 2, 2, 0])),
    case("groups_int32_max_too_large", errors=TOO_LARGE, input_sizes=sizes([1, 5, 5, I32_MAX]),
         filter=t([3, 3, 1, 0]), out_backprop=t([1, 3, 3, 0])),
    case("groups_4096_depthwise", expect="reference", input_sizes=sizes([1, 2, 2, 4096]),
         filter=t([1, 1, 1, 4096]), out_backprop=t([1, 2, 2, 4096], seed=1)),
    case("explicit_padding_beyond_input", expect="reference", padding="EXPLICIT",
         explicit_paddings=[0, 0, 10, 0, 0, 7, 0, 0], out_backprop=t([2, 13, 10, 6], seed=1)),

    # --- non-finite and extreme values: exactly like the built-in -------------------------
    case("nonfinite_out_backprop", expect="builtin", out_backprop=t([2, 3, 3, 6], fill="nonfinite")),
    case("nonfinite_filter_same_stride2", expect="builtin", padding="SAME",
         strides=[1, 2, 2, 1], filter=t([3, 3, 4, 6], fill="nonfinite", seed=3)),
    case("nonfinite_half", expect="builtin", filter=t([3, 3, 4, 6], "float16"),
         out_backprop=t([2, 3, 3, 6], "float16", fill="nonfinite", seed=4)),
    case("nonfinite_float64_explicit", expect="builtin", padding="EXPLICIT",
         explicit_paddings=[0, 0, 1, 1, 2, 0, 0, 0],
         filter=t([3, 3, 4, 6], "float64", fill="nonfinite", seed=5),
         out_backprop=t([2, 5, 5, 6], "float64", seed=1)),
    # w = [inf, 1], dy = [1], VALID: dx = [inf, 1]. The tap of dx[1] that falls
    # outside dy must be skipped, not multiplied (0 * inf is NaN): this once
    # failed in the CPU engine.
    case("nonfinite_filter_tap_outside", expect="builtin",
         input_sizes=sizes([1, 1, 2, 1]), filter=t([1, 2, 1, 1], fill="constant", constant=1.0,
                                                   inf_at=[0]),
         out_backprop=t([1, 1, 1, 1], fill="ones")),
    case("huge_float32_overflow", expect="builtin",
         filter=t([3, 3, 4, 6], fill="constant", constant=3e38),
         out_backprop=t([2, 3, 3, 6], fill="big_pos", seed=1)),
    # TF's float16 path accumulates in half: intermediate sums overflow, and it
    # returns NaN where the exact result is 0 (184 of these 200 values differ).
    # Ours accumulates in float as docs/CONTRACT.md section 2 requires.
    case("huge_half_overflow", expect="reference",
         filter=t([3, 3, 4, 6], "float16", fill="constant", constant=60000.0),
         out_backprop=t([2, 3, 3, 6], "float16", seed=1)),
    case("huge_int32_wraps", expect="builtin",
         filter=t([3, 3, 4, 6], "int32", fill="constant", constant=2**30 + 7),
         out_backprop=t([2, 3, 3, 6], "int32", seed=1)),
]

CASES_BY_NAME = {c["name"]: c for c in CASES}
assert len(CASES_BY_NAME) == len(CASES), "duplicate case names"


def reference(spec):
    """float64 NumPy reference of docs/CONTRACT.md section 2 for a case's inputs."""
    arrays = [_hostile_runner.make_array(spec[k]) for k in ("input_sizes", "filter", "out_backprop")]
    return _hostile_runner.reference_conv(
        *arrays, strides=spec["strides"], padding=spec["padding"],
        explicit_paddings=spec.get("explicit_paddings", []),
        dilations=spec.get("dilations", [1, 1, 1, 1]),
        data_format=spec.get("data_format", "NHWC"))


def assert_same_values(actual, expected, what):
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    if actual.dtype.kind == "f":
        a = actual.astype(np.float64)
        e = expected.astype(np.float64)
        assert np.array_equal(np.isnan(a), np.isnan(e)), f"{what}: NaN positions differ"
        np.testing.assert_array_equal(np.where(np.isnan(a), 0, a), np.where(np.isnan(e), 0, e),
                                      err_msg=what)
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=what)


# ---------------------------------------------------------------------------------------
# Running the cases: once per session, in child processes.

@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory(prefix="hostile_") as path:
        yield path


@pytest.fixture(scope="module")
def ours(workdir):
    return _hostile_runner.drive(CASES, "ours", os.path.join(workdir, "ours"))


@pytest.fixture(scope="module")
def builtin(workdir):
    # Only the cases whose result must equal the built-in's, in one mode: the
    # built-in crashes on many of the others (see --survey).
    wanted = [dict(c, modes=["raw"]) for c in CASES if c["expect"] == "builtin"]
    return _hostile_runner.drive(wanted, "builtin", os.path.join(workdir, "builtin"))


def _load(record):
    assert record["status"] == "ok"
    return np.load(record["array"])


def _params():
    for name, spec in CASES_BY_NAME.items():
        marks = [pytest.mark.xfail(strict=True, reason=spec["xfail"])] if spec.get("xfail") else []
        yield pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", list(_params()))
def test_hostile_case(name, ours, request):
    spec = CASES_BY_NAME[name]
    for mode in spec["modes"]:
        record = ours[(name, mode)]
        what = f"{name} [{mode}]"
        assert record["status"] not in ("crash", "hang"), (
            f"{what}: {record['status']} {record.get('returncode')}\n{record.get('stderr')}")
        # No case may allocate anything big (TF itself takes well under 2 GiB;
        # AddressSanitizer's shadow and quarantine add more).
        limit_gib = 6 if os.environ.get("TF_CUSTOM_OP_SANITIZED") else 3
        assert record["maxrss_kb"] < limit_gib << 20, f"{what}: peak RSS {record['maxrss_kb']} kB"
        if spec["expect"] == "error":
            assert record["status"] == "error", f"{what}: expected an error, got {record}"
            assert record["type"] in spec["errors"], f"{what}: {record['type']}: {record['message']}"
            continue
        assert record["status"] == "ok", f"{what}: {record.get('type')}: {record.get('message')}"
        result = _load(record)
        if spec["expect"] == "zeros":
            expected = np.zeros_like(reference(spec))
        elif spec["expect"] == "reference":
            expected = reference(spec)
        else:
            base = request.getfixturevalue("builtin")[(name, "raw")]
            assert base["status"] == "ok", f"the built-in failed on {name}: {base}"
            expected = _load(base)
        assert_same_values(result, expected, what)


def test_nonfinite_cases_really_produce_nonfinite(ours):
    # Guards the NaN/Inf cases against silently testing finite data.
    for name, spec in CASES_BY_NAME.items():
        if name.startswith(("nonfinite", "huge_float", "huge_half")):
            result = _load(ours[(name, "raw")])
            assert not np.all(np.isfinite(result.astype(np.float64))), name


@pytest.mark.skipif(not os.environ.get("TF_CUSTOM_OP_SANITIZED"),
                    reason="only under `make sanitize`")
def test_sanitizer_build_is_the_one_loaded():
    # `make sanitize` must really test the ASan+UBSan library, with the runtime
    # active in this process (its children inherit the same environment).
    import tf_custom_op
    path = os.environ["TF_CUSTOM_OP_LIBRARY"]
    assert tf_custom_op.library_path() == path
    tf_custom_op.op_module()
    with open("/proc/self/maps") as f:
        maps = f.read()
    assert "libasan" in maps and "libubsan" in maps
    assert os.path.realpath(path) in maps


# ---------------------------------------------------------------------------------------
# Survey: how the built-in op and ours fare on every case (not part of the tests).

def survey(modes=("raw", "function", "graphdef")):
    with tempfile.TemporaryDirectory(prefix="hostile_survey_") as path:
        subset = [dict(c, modes=list(modes)) for c in CASES]
        builtin_out = _hostile_runner.drive(subset, "builtin", os.path.join(path, "builtin"))
        ours_out = _hostile_runner.drive(subset, "ours", os.path.join(path, "ours"))
        rows = []
        for c in CASES:
            for mode in modes:
                def short(r):
                    if r["status"] == "ok":
                        return "ok " + "x".join(map(str, r["shape"]))
                    if r["status"] == "error":
                        return r["type"]
                    if r["status"] == "crash":
                        return f"CRASH rc={r['returncode']}"
                    return "HANG"
                rows.append((c["name"], mode, short(builtin_out[(c["name"], mode)]),
                             short(ours_out[(c["name"], mode)])))
        width = max(len(r[0]) for r in rows)
        print(f"{'case':{width}}  {'mode':9}  {'built-in':28}  ours")
        for row in rows:
            print(f"{row[0]:{width}}  {row[1]:9}  {row[2]:28}  {row[3]}")
        crashes = [r for r in rows if r[2].startswith(("CRASH", "HANG"))]
        print(f"\nbuilt-in crashes or hangs: {len(crashes)}")
        return builtin_out, ours_out


if __name__ == "__main__":
    if "--survey" in sys.argv:
        survey()
    else:
        print(json.dumps([c["name"] for c in CASES], indent=1))
