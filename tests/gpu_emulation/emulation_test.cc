// Runs the CUDA kernels of conv2d_backprop_input on the host through
// cc/kernels/gpu/cuda_emulation.h and compares them with a naive reference
// (the SPEC's formula, in 64-bit arithmetic) on small shapes: every dtype,
// NHWC and NCHW, strides 1-3, dilation, SAME/VALID/explicit asymmetric padding,
// groups, tile tails, K_g at and around the k-steps (BK of the SIMT and
// tensor-core kernels), phases without taps, empty tensors, and Inf / NaN in
// the filter or dy (first and last element, first k of the last channel).
//
// Build (tests/test_gpu_emulation.py and `make gpu-emulation` do this):
//   g++ -std=c++17 -O2 -pthread -DTFCO_CUDA_EMULATION -I. -x c++
//       cc/kernels/gpu/conv_backprop_input.cu.cc -x none
//       tests/gpu_emulation/emulation_test.cc -o emulation_test
// Usage: emulation_test [substring-of-case-name]
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cc/kernels/axis_window.h"
#include "cc/kernels/gpu/conv_backprop_input_gpu.h"
#include "cc/kernels/gpu/cuda_emulation.h"
#include "tests/native_common/conv_case.h"
#include "tests/native_common/non_finite_cases.h"

namespace {

using tf_custom_op::ConvProblem;
using tf_custom_op::gpu::GpuDtype;

using Pad = tf_custom_op::PaddingKind;

// A named ConvCase (tests/native_common/conv_case.h) and how to fill it.
struct Case {
  std::string name;
  tf_custom_op::testing::ConvCase shape;
  bool random_floats = false;  // non-integer data (float/double only)
  int poison = -1;             // index into kPoisons (-1: none)
};

// Non-finite values planted in the filter or dy (floating dtypes only;
// tests/native_common/non_finite_cases.h): a tap outside dy must be skipped,
// never multiplied by a loaded zero.
using tf_custom_op::testing::kNumPoisons;
using tf_custom_op::testing::kPoisons;
using tf_custom_op::testing::Poison;
using tf_custom_op::testing::PoisonIndex;


// Reference in double (exact for the integer data) or int64 (int32, wrapped
// on the way out like TF).
template <typename Acc>
std::vector<Acc> Reference(const ConvProblem& p,
                           const std::vector<Acc>& dy,
                           const std::vector<Acc>& w) {
  std::vector<Acc> dx(static_cast<size_t>(p.batch * p.in_rows * p.in_cols *
                                          p.in_depth),
                      Acc(0));
  const int64_t cg = p.filter_depth, kg = p.out_depth_per_group;
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t pp = 0; pp < p.out_rows; ++pp)
      for (int64_t q = 0; q < p.out_cols; ++q)
        for (int64_t r = 0; r < p.filter_rows; ++r) {
          const int64_t h = pp * p.stride_rows + r * p.dilation_rows - p.pad_top;
          if (h < 0 || h >= p.in_rows) continue;
          for (int64_t s = 0; s < p.filter_cols; ++s) {
            const int64_t x =
                q * p.stride_cols + s * p.dilation_cols - p.pad_left;
            if (x < 0 || x >= p.in_cols) continue;
            for (int64_t g = 0; g < p.groups; ++g)
              for (int64_t c = 0; c < cg; ++c) {
                Acc sum = 0;
                for (int64_t o = 0; o < kg; ++o) {
                  sum += dy[static_cast<size_t>(
                             ((n * p.out_rows + pp) * p.out_cols + q) *
                                 p.out_depth +
                             g * kg + o)] *
                         w[static_cast<size_t>(
                             ((r * p.filter_cols + s) * cg + c) * p.out_depth +
                             g * kg + o)];
                }
                dx[static_cast<size_t>(
                    ((n * p.in_rows + h) * p.in_cols + x) * p.in_depth +
                    g * cg + c)] += sum;
              }
          }
        }
  return dx;
}

// Per-image [rows][cols] -> [cols][rows].
template <typename T>
std::vector<T> HostTranspose(const std::vector<T>& src, int64_t batch,
                             int64_t rows, int64_t cols) {
  std::vector<T> dst(src.size());
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        dst[static_cast<size_t>(b * rows * cols + c * rows + r)] =
            src[static_cast<size_t>(b * rows * cols + r * cols + c)];
  return dst;
}

// Per-dtype storage, conversion to/from the reference type, and tolerance.
template <typename T>
struct Traits;
template <>
struct Traits<float> {
  using Ref = double;
  static constexpr GpuDtype kDtype = GpuDtype::kFloat;
  static constexpr const char* kName = "float32";
  static float From(double v) { return static_cast<float>(v); }
  static double To(float v) { return v; }
  static bool Close(double got, double want, double scale) {
    return std::fabs(got - want) <= 1e-5 * std::max(1.0, scale);
  }
};
template <>
struct Traits<double> {
  using Ref = double;
  static constexpr GpuDtype kDtype = GpuDtype::kDouble;
  static constexpr const char* kName = "float64";
  static double From(double v) { return v; }
  static double To(double v) { return v; }
  static bool Close(double got, double want, double scale) {
    return std::fabs(got - want) <= 1e-12 * std::max(1.0, scale);
  }
};
template <>
struct Traits<int32_t> {
  using Ref = int64_t;
  static constexpr GpuDtype kDtype = GpuDtype::kInt32;
  static constexpr const char* kName = "int32";
  static int32_t From(int64_t v) {
    return static_cast<int32_t>(static_cast<uint32_t>(v));
  }
  static int64_t To(int32_t v) { return v; }
  static bool Close(int64_t got, int64_t want, double) { return got == want; }
};
template <>
struct Traits<__half> {
  using Ref = double;
  static constexpr GpuDtype kDtype = GpuDtype::kHalf;
  static constexpr const char* kName = "float16";
  static __half From(double v) {
    return __float2half_rn(static_cast<float>(v));
  }
  static double To(__half v) { return __half2float(v); }
  // Integer data: fp32 accumulation is exact, so the result is the
  // reference rounded once to half. Compared exactly (after that rounding).
  static bool Close(double got, double want, double) {
    return got == To(From(want));
  }
};
template <>
struct Traits<__nv_bfloat16> {
  using Ref = double;
  static constexpr GpuDtype kDtype = GpuDtype::kBfloat16;
  static constexpr const char* kName = "bfloat16";
  static __nv_bfloat16 From(double v) {
    return __float2bfloat16_rn(static_cast<float>(v));
  }
  static double To(__nv_bfloat16 v) { return __bfloat162float(v); }
  static bool Close(double got, double want, double) {
    return got == To(From(want));
  }
};

// Returns an empty string on success, else the first mismatch.
template <typename T>
std::string RunCase(const Case& t, bool nchw, uint32_t seed) {
  using Tr = Traits<T>;
  using Ref = typename Tr::Ref;
  ConvProblem p{};
  if (!tf_custom_op::testing::ProblemOf(t.shape, &p)) return "bad case geometry";
  const size_t dy_n =
      static_cast<size_t>(p.batch * p.out_rows * p.out_cols * p.out_depth);
  const size_t w_n = static_cast<size_t>(p.filter_rows * p.filter_cols *
                                         p.filter_depth * p.out_depth);
  const size_t dx_n =
      static_cast<size_t>(p.batch * p.in_rows * p.in_cols * p.in_depth);

  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> small(-3, 3);
  std::uniform_real_distribution<double> real(-1.0, 1.0);
  const bool floats = t.random_floats && (Tr::kDtype == GpuDtype::kFloat ||
                                          Tr::kDtype == GpuDtype::kDouble);
  std::vector<Ref> dy_ref(dy_n), w_ref(w_n);
  std::vector<T> dy(dy_n), w(w_n);
  for (size_t e = 0; e < dy_n; ++e) {
    dy[e] = Tr::From(floats ? static_cast<Ref>(real(gen)) : static_cast<Ref>(small(gen)));
    dy_ref[e] = Tr::To(dy[e]);
  }
  for (size_t e = 0; e < w_n; ++e) {
    w[e] = Tr::From(floats ? static_cast<Ref>(real(gen)) : static_cast<Ref>(small(gen)));
    w_ref[e] = Tr::To(w[e]);
  }
  if (t.poison >= 0) {
    if constexpr (std::is_integral_v<Ref>) {
      return "";  // int32 has no Inf or NaN
    } else {
      const Poison& poison = kPoisons[t.poison];
      auto& target = poison.in_filter ? w : dy;
      auto& target_ref = poison.in_filter ? w_ref : dy_ref;
      const size_t at = static_cast<size_t>(
          PoisonIndex(p, poison, static_cast<int64_t>(target.size())));
      target[at] = Tr::From(poison.value);
      target_ref[at] = Tr::To(target[at]);
    }
  }
  const std::vector<Ref> want = Reference<Ref>(p, dy_ref, w_ref);

  // Poison the output: every element must be written.
  std::vector<T> dx(dx_n);
  if (dx_n) std::memset(static_cast<void*>(dx.data()), 0x7b, dx_n * sizeof(T));
  std::vector<T> dy_in = dy;
  if (nchw) dy_in = HostTranspose(dy, p.batch, p.out_rows * p.out_cols, p.out_depth);
  const size_t ws_bytes =
      tf_custom_op::gpu::ConvBackpropInputWorkspaceBytes(Tr::kDtype, p, nchw);
  std::vector<unsigned char> ws(ws_bytes + 256, 0x5a);
  void* ws_ptr = ws.data() + (256 - reinterpret_cast<uintptr_t>(ws.data()) % 256) % 256;
  const tf_custom_op::gpu::GpuStatus status = tf_custom_op::gpu::LaunchConvBackpropInput(
      Tr::kDtype, p, nchw, w.data(), dy_in.data(), dx.data(),
      ws_bytes ? ws_ptr : nullptr, ws_bytes, nullptr);
  if (!status.ok()) return std::string("launcher error: ") + status.message;
  if (nchw) dx = HostTranspose(dx, p.batch, p.in_depth, p.in_rows * p.in_cols);

  double scale = 0;
  for (const Ref& v : want) scale = std::max(scale, std::fabs(static_cast<double>(v)));
  for (size_t e = 0; e < dx_n; ++e) {
    const Ref got = Tr::To(dx[e]);
    const double want_d = static_cast<double>(want[e]), got_d = static_cast<double>(got);
    // Non-finite expectations match exactly: NaN for NaN, the same Inf.
    const bool ok = std::isnan(want_d)   ? std::isnan(got_d)
                    : std::isinf(want_d) ? got_d == want_d
                                         : std::isfinite(got_d) && Tr::Close(got, want[e], scale);
    if (!ok) {
      char buf[200];
      std::snprintf(buf, sizeof(buf), "element %zu of %zu: got %.9g, want %.9g",
                    e, dx_n, static_cast<double>(got),
                    static_cast<double>(want[e]));
      return buf;
    }
  }
  return "";
}

std::vector<Case> Cases() {
  std::vector<Case> v;
  auto add = [&](Case c) { v.push_back(c); };
  //   name                    n  h  w  c  r  s  g  k  sh sw dh dw pad
  add({"3x3_s1_same",          2, 6, 6, 5, 3, 3, 1, 7, 1, 1, 1, 1, Pad::kSame});
  add({"3x3_s1_valid",         1, 7, 5, 3, 3, 3, 1, 4, 1, 1, 1, 1, Pad::kValid});
  add({"3x3_s2_same_odd",      2, 7, 7, 4, 3, 3, 1, 6, 2, 2, 1, 1, Pad::kSame});
  add({"4x4_s2_same",          1, 8, 8, 3, 4, 4, 1, 5, 2, 2, 1, 1, Pad::kSame});
  add({"4x4_s3_valid",         2, 10, 11, 3, 4, 4, 1, 4, 3, 3, 1, 1, Pad::kValid});
  add({"3x3_s3_same",          1, 9, 8, 2, 3, 3, 1, 3, 3, 3, 1, 1, Pad::kSame});
  add({"rect_2x3_s1x2",        2, 5, 11, 3, 2, 3, 1, 4, 1, 2, 1, 1, Pad::kSame});
  add({"dil2_s1_same",         1, 9, 9, 3, 3, 3, 1, 5, 1, 1, 2, 2, Pad::kSame});
  add({"dil2_s2_same",         1, 9, 10, 3, 3, 3, 1, 4, 2, 2, 2, 2, Pad::kSame});
  add({"dil2x3_s3x2_valid",    2, 12, 11, 2, 3, 2, 1, 3, 3, 2, 2, 3, Pad::kValid});
  add({"explicit_asym_s2",     2, 7, 8, 3, 3, 3, 1, 5, 2, 2, 1, 1, Pad::kExplicit, 1, 2, 0, 3});
  add({"explicit_bigpad_s1",   1, 5, 6, 2, 3, 2, 1, 3, 1, 1, 1, 1, Pad::kExplicit, 3, 1, 2, 4});
  add({"explicit_dil_s3",      1, 10, 9, 2, 3, 3, 1, 3, 3, 3, 2, 1, Pad::kExplicit, 2, 0, 1, 2});
  add({"groups2",              2, 6, 6, 6, 3, 3, 2, 8, 1, 1, 1, 1, Pad::kSame});
  add({"groups3_s2",           1, 7, 6, 9, 3, 3, 3, 6, 2, 2, 1, 1, Pad::kSame});
  add({"depthwise4_s2_dil",    1, 8, 8, 4, 3, 3, 4, 8, 2, 2, 2, 1, Pad::kSame});
  add({"1x1_s3_notaps",        2, 7, 7, 3, 1, 1, 1, 4, 3, 3, 1, 1, Pad::kValid});
  add({"2x2_s3_sometaps",      1, 8, 9, 2, 2, 2, 1, 3, 3, 3, 1, 1, Pad::kSame});
  add({"1x1_s1_gemm",          2, 5, 5, 6, 1, 1, 1, 9, 1, 1, 1, 1, Pad::kValid});
  add({"stride_gt_size",       1, 2, 3, 2, 2, 2, 1, 3, 4, 5, 1, 1, Pad::kSame});
  // Tile configurations and tails: K_g > BK with a tail, C_g in each of the
  // three SIMT tile widths, M spanning several tiles per phase.
  add({"kg40_tail",            1, 5, 6, 3, 3, 3, 1, 40, 1, 1, 1, 1, Pad::kSame});
  add({"cg40_tile128x64",      1, 5, 5, 40, 3, 3, 1, 9, 2, 2, 1, 1, Pad::kSame});
  add({"cg70_tile128x128",     1, 5, 4, 70, 3, 3, 1, 5, 1, 1, 1, 1, Pad::kSame});
  add({"cg130_two_ctiles",     1, 3, 4, 130, 2, 2, 1, 3, 1, 1, 1, 1, Pad::kSame});
  add({"m300_multi_mtiles",    3, 10, 10, 3, 3, 3, 1, 4, 1, 1, 1, 1, Pad::kSame});
  add({"m_multi_s2",           4, 12, 12, 2, 3, 3, 1, 3, 2, 2, 1, 1, Pad::kSame});
  add({"groups2_kg36_cg33",    1, 4, 5, 66, 2, 2, 2, 72, 1, 1, 1, 1, Pad::kValid});
  // Random non-integer data (float/double; 16-bit and int32 use integers).
  Case rf{"random_float_s2",   2, 9, 8, 5, 3, 3, 1, 20, 2, 2, 1, 1, Pad::kSame};
  rf.random_floats = true;
  add(rf);
  // K_g at and around the k-steps (BK 32 for the tensor-core kernels; the
  // SIMT kernels' BK divides 16): one step exactly, a step and a tail, two.
  for (const int64_t kg : {15, 16, 17, 31, 32, 33, 63, 64, 65}) {
    add({"kg" + std::to_string(kg) + "_step", 1, 5, 6, 3, 3, 3, 1, kg, 1, 1, 1, 1, Pad::kSame});
  }
  add({"kg32_groups2_s2", 1, 6, 7, 4, 3, 3, 2, 64, 2, 2, 1, 1, Pad::kSame});
  add({"kg64_dil2_s2", 1, 9, 8, 3, 3, 3, 1, 64, 2, 2, 2, 2, Pad::kSame});
  // Inf and NaN, K_g odd and even, edge tiles (taps outside dy) and interior.
  for (int poison = 0; poison < kNumPoisons; ++poison) {
    const std::string suffix = std::string("_") + kPoisons[poison].name;
    Case odd{"nonfinite_kg3" + suffix, 1, 5, 6, 2, 3, 3, 1, 3, 1, 1, 1, 1, Pad::kSame};
    Case even{"nonfinite_g2_s2" + suffix, 2, 6, 7, 6, 4, 4, 2, 8, 2, 2, 1, 1, Pad::kSame};
    Case deep{"nonfinite_kg33" + suffix, 1, 5, 9, 4, 3, 3, 1, 33, 1, 1, 1, 1, Pad::kSame};
    for (Case* c : {&odd, &even, &deep}) {
      c->poison = poison;
      add(*c);
    }
  }
  // Empty tensors.
  add({"empty_batch",          0, 5, 5, 3, 3, 3, 1, 4, 1, 1, 1, 1, Pad::kSame});
  add({"empty_dy_rows",        2, 1, 5, 3, 4, 3, 1, 4, 2, 1, 1, 1, Pad::kValid});
  add({"empty_filter_rows",    1, 4, 4, 3, 0, 3, 1, 4, 1, 1, 1, 1, Pad::kValid});
  add({"empty_out_depth",      1, 4, 4, 3, 3, 3, 1, 0, 1, 1, 1, 1, Pad::kSame});
  add({"empty_in_depth",       1, 4, 4, 0, 3, 3, 1, 4, 1, 1, 1, 1, Pad::kSame});
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string filter = argc > 1 ? argv[1] : "";
  int passed = 0, failed = 0;
  uint32_t seed = 1;
  for (const Case& base : Cases()) {
    if (!filter.empty() && base.name.find(filter) == std::string::npos) continue;
    Case t = base;
    if (t.shape.c == 0) t.shape.groups = 1;  // in_depth 0: one (empty) group
    for (int layout = 0; layout < 2; ++layout) {
      const bool nchw = layout == 1;
      struct Run {
        const char* name;
        std::string (*fn)(const Case&, bool, uint32_t);
      };
      const Run runs[] = {
          {Traits<float>::kName, &RunCase<float>},
          {Traits<double>::kName, &RunCase<double>},
          {Traits<int32_t>::kName, &RunCase<int32_t>},
          {Traits<__half>::kName, &RunCase<__half>},
          {Traits<__nv_bfloat16>::kName, &RunCase<__nv_bfloat16>},
      };
      for (const Run& run : runs) {
        const std::string err = run.fn(t, nchw, seed++);
        const char* layout_name = nchw ? "NCHW" : "NHWC";
        if (err.empty()) {
          ++passed;
          std::printf("PASS %-22s %s %s\n", t.name.c_str(), layout_name, run.name);
        } else {
          ++failed;
          std::printf("FAIL %-22s %s %s: %s\n", t.name.c_str(), layout_name,
                      run.name, err.c_str());
        }
        std::fflush(stdout);
      }
    }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
