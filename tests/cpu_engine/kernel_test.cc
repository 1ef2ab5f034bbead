// TensorFlow-free tester of the CPU micro-kernels and the engine, tier by tier.
// Built twice: natively (`make cpu-kernel-test`), and with the AVX-512 tiers
// emulated in plain C++ (`make cpu-kernel-emulation`; their lines then say
// "emulated").
//
// For every kernel of every table (micro_kernel_select.cc) whose tier this CPU
// supports, it checks
//   1. the micro-kernel alone against a scalar loop, over pixel tails
//      (m_valid 1..MR), channel tails (n_valid 1..NR), tap counts and depths,
//      including rows that point at the zero row, and that nothing is written
//      outside the m_valid x n_valid tile; its streaming variant (stream_fn)
//      too, on line-aligned tiles (non-temporal stores) and on others; and
//      with its taps in runs whose gaps hold poison (what the engine passes
//      when a tile leaves out column taps that read only padding);
//   2. the whole engine (packing, indirection, driver) with that kernel
//      against a direct loop over the convolution, on strided, dilated,
//      padded and grouped problems, with dx streamed and not: phase rows
//      longer than 2 MR + 1 pixels for every kernel's MR, dilation with
//      stride, and K_g at and around every kernel's k-step; also packed in
//      parts and computed in parts of the rows and channel blocks, as the
//      op's threads do;
//   3. the engine with Inf and NaN in the filter or in dy (first and last
//      tap, channel and k; odd and even K_g) against the same loop in IEEE
//      double: a tap outside dy must be skipped, never multiplied by zero,
//      and padding past K_g must be zero in the filter as in dy;
//   4. the pixel-vector engine (pixel_engine.h) with each tier's tiles on
//      grouped shapes of 1 to 8 channels per group and on the shapes above,
//      computed in one call and in several; a non-finite filter must be
//      refused, Inf and NaN in dy must match the reference;
//   5. the bfloat16 row converter chosen here against the portable loops;
//   6. the Winograd transforms F(m, r) alone (in double, against the
//      correlation they compute), and the Winograd engine with each tier's
//      transforms and GEMM kernel on dense phases of 1 to 5 taps, whole, in
//      parts and through staged rows, on random and mixed-magnitude data,
//      within the 2e-5 x max|dx| bound; a non-finite filter must be refused
//      and Inf or NaN in dy must land where the reference puts them;
// and prints one line per kernel: which ran, and which were skipped because
// the CPU lacks their tier. The last line is "N passed, M failed".
//
//   build/cpu_kernel_test [--quick]   (make cpu-kernel-test; run by make test)
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cc/kernels/axis_window.h"
#include "cc/kernels/cpu/aligned_buffer.h"
#include "cc/kernels/cpu/bfloat16_convert.h"
#include "cc/kernels/conv_params.h"
#include "cc/kernels/cpu/gather_engine.h"
#include "cc/kernels/cpu/isa_tier.h"
#include "cc/kernels/cpu/micro_kernel.h"
#include "cc/kernels/cpu/nhwc_row_io.h"
#include "cc/kernels/cpu/pixel_engine.h"
#include "cc/kernels/cpu/winograd_engine.h"
#include "cc/kernels/cpu/winograd_fixed.h"
#include "cc/kernels/cpu/winograd_transform.h"
#include "tests/native_common/conv_case.h"
#include "tests/native_common/non_finite_cases.h"

namespace {

using tf_custom_op::AlignedBuffer;
using tf_custom_op::BFloat16Bits;
using tf_custom_op::ConvProblem;
using tf_custom_op::GatherEngine;
using tf_custom_op::IsaTier;
using tf_custom_op::KernelTable;
using tf_custom_op::MicroKernel;
using tf_custom_op::PaddingKind;

int g_passed = 0;
int g_failed = 0;

void Report(bool ok, const std::string& what) {
  (ok ? g_passed : g_failed)++;
  if (!ok) std::printf("FAIL %s\n", what.c_str());
}

template <typename Elem>
Elem Random(std::mt19937& rng) {
  if constexpr (std::is_integral_v<Elem>) {
    return static_cast<Elem>(std::uniform_int_distribution<int>(-9, 9)(rng));
  } else if constexpr (std::is_same_v<Elem, BFloat16Bits>) {
    // A float in [-1, 1) cut to its top 16 bits: exactly a bfloat16.
    const float f = std::uniform_real_distribution<float>(-1, 1)(rng);
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof(bits));
    return BFloat16Bits{static_cast<uint16_t>(bits >> 16)};
  } else {
    return static_cast<Elem>(std::uniform_real_distribution<double>(-1, 1)(rng));
  }
}

// `v` as an element (Inf and NaN included; bfloat16 by truncation).
template <typename Elem>
Elem FromDouble(double v) {
  if constexpr (std::is_same_v<Elem, BFloat16Bits>) {
    const float f = static_cast<float>(v);
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof(bits));
    return BFloat16Bits{static_cast<uint16_t>(bits >> 16)};
  } else {
    return static_cast<Elem>(v);
  }
}

// A value that spoils any sum it enters: NaN, or for integers a large one.
template <typename Elem>
Elem Poisoned() {
  if constexpr (std::is_integral_v<Elem>) {
    return static_cast<Elem>(1 << 20);
  } else {
    return FromDouble<Elem>(NAN);
  }
}

// An element's value as a double (through its accumulation type).
template <typename Acc, typename Elem>
double Value(Elem v) {
  return static_cast<double>(tf_custom_op::Widen<Acc>(v));
}

// |got - want| within float accumulation in any order (exact for integers).
// Non-finite expectations must match exactly: NaN for NaN, the same Inf.
template <typename Acc>
bool Close(Acc got, double want, double magnitude) {
  if constexpr (std::is_integral_v<Acc>) {
    return static_cast<double>(got) == want;
  } else {
    if (std::isnan(want)) return std::isnan(static_cast<double>(got));
    if (std::isinf(want)) return static_cast<double>(got) == want;
    if (!std::isfinite(static_cast<double>(got))) return false;
    const double eps = sizeof(Acc) == 4 ? 1e-6 : 1e-14;
    return std::fabs(static_cast<double>(got) - want) <= 4 * eps * magnitude + 1e-30;
  }
}

// 1. The micro-kernel alone.
// `--quick` (the sanitized builds: they look for bad memory accesses, and
// the plain build checks every value) runs the micro-kernels on fewer depths
// and tap counts.
bool g_quick = false;

template <typename Acc, typename Elem>
bool CheckMicroKernel(const MicroKernel<Acc, Elem>& kernel, std::mt19937& rng) {
  const int mr = kernel.mr, nr = kernel.nr, k_pack = kernel.k_pack;
  bool ok = true;
  const std::vector<int64_t> tap_counts =
      g_quick ? std::vector<int64_t>{1, 5} : std::vector<int64_t>{1, 2, 5, 9};
  const std::vector<int64_t> depths =
      g_quick ? std::vector<int64_t>{1, 2, 17, 33}
              : std::vector<int64_t>{1, 2, 3, 8, 15, 16, 17, 31, 32, 33, 45, 63, 64, 65};
  for (int64_t taps : tap_counts) {
    for (int64_t depth : depths) {
      std::vector<Elem> zero(depth, Elem{});
      std::vector<std::vector<Elem>> storage(taps * mr, std::vector<Elem>(depth));
      std::vector<const Elem*> rows(taps * mr);
      for (size_t i = 0; i < rows.size(); ++i) {
        for (auto& v : storage[i]) v = Random<Elem>(rng);
        rows[i] = (rng() % 5 == 0) ? zero.data() : storage[i].data();
      }
      // Packed as filter_packing.h lays it out: padding past depth is zero.
      std::vector<Elem> packed(taps * tf_custom_op::PaddedDepth(depth, k_pack) * nr, Elem{});
      for (int64_t t = 0; t < taps; ++t)
        for (int64_t k = 0; k < depth; ++k)
          for (int n = 0; n < nr; ++n)
            packed[tf_custom_op::PackedIndex(t, k, n, depth, nr, k_pack)] = Random<Elem>(rng);
      // Whether `got` is tile element (m, n), by a scalar loop in double.
      const auto IsTileValue = [&](Acc got, int m, int n) {
        double want = 0, magnitude = 0;
        for (int64_t t = 0; t < taps; ++t) {
          for (int64_t k = 0; k < depth; ++k) {
            const double term =
                Value<Acc>(rows[t * mr + m][k]) *
                Value<Acc>(packed[tf_custom_op::PackedIndex(t, k, n, depth, nr, k_pack)]);
            want += term;
            magnitude += std::fabs(term);
          }
        }
        return Close(got, want, magnitude);
      };
      // Pixels apart by more than a tile: by a whole number of lines (the
      // streaming variant then streams full tiles), and by an odd amount.
      const int64_t line = 64 / sizeof(Acc);
      for (const bool streaming : {false, true}) {
        if (streaming && kernel.stream_fn == nullptr) continue;
        for (const int64_t stride : {(nr + line) / line * line, int64_t{nr} + 3}) {
          for (int m_valid = 1; m_valid <= mr; ++m_valid) {
            for (int n_valid = 1; n_valid <= nr; ++n_valid) {
              const Acc sentinel = static_cast<Acc>(77);
              AlignedBuffer<Acc> out((mr + 1) * stride, sentinel);
              (streaming ? kernel.stream_fn : kernel.fn)(taps, depth, rows.data(), packed.data(),
                                                         out.data(), stride, m_valid, n_valid,
                                                         taps, 0);
              for (int m = 0; m <= mr; ++m) {
                for (int64_t n = 0; n < stride; ++n) {
                  const Acc got = out[m * stride + n];
                  if (m >= m_valid || n >= n_valid) {
                    ok = ok && got == sentinel;  // written outside the tile
                    continue;
                  }
                  ok = ok && IsTileValue(got, m, static_cast<int>(n));
                }
              }
            }
          }
        }
      }
      // Taps in runs of two, a tap's worth of poison between runs (what the
      // engine passes when a tile leaves out column taps): a read of the
      // gap changes the result.
      if (taps >= 2) {
        const int64_t tap_elements = tf_custom_op::PaddedDepth(depth, k_pack) * nr;
        const int64_t run_stride = 3 * tap_elements;
        std::vector<Elem> holey(((taps + 1) / 2) * run_stride, Poisoned<Elem>());
        for (int64_t t = 0; t < taps; ++t) {
          std::copy(packed.begin() + t * tap_elements, packed.begin() + (t + 1) * tap_elements,
                    holey.begin() + (t / 2) * run_stride + (t % 2) * tap_elements);
        }
        AlignedBuffer<Acc> out(mr * nr, static_cast<Acc>(77));
        kernel.fn(taps, depth, rows.data(), holey.data(), out.data(), nr, mr, nr, 2, run_stride);
        for (int m = 0; m < mr; ++m) {
          for (int n = 0; n < nr; ++n) {
            ok = ok && IsTileValue(out[m * nr + n], m, n);
          }
        }
      }
    }
  }
  return ok;
}

// The testers' one case type (tests/native_common/conv_case.h): x [n, h, w,
// c], filter [r, s, c / groups, k], strides, dilations, padding.
using Shape = tf_custom_op::testing::ConvCase;

// 3. A non-finite value put into the filter or dy before the engine runs
// (tests/native_common/non_finite_cases.h); name "" plants none.
using tf_custom_op::testing::kPoisons;
using tf_custom_op::testing::Poison;
using tf_custom_op::testing::PoisonIndex;
const Poison kNoPoison = {"", false, tf_custom_op::testing::Place::kFirst, 0.0};

// The problem a Shape describes, or false when it has no work in it (a
// listed shape must have some).
bool ProblemWithWork(const Shape& s, ConvProblem* out) {
  return tf_custom_op::testing::ProblemOf(s, out) && out->out_rows > 0 && out->out_cols > 0;
}

// Random filter and dy for `p`, with an optional non-finite value planted.
template <typename Elem>
void RandomOperands(const ConvProblem& p, std::mt19937& rng, const Poison& poison,
                    std::vector<Elem>* w, std::vector<Elem>* dy) {
  w->resize(p.filter_rows * p.filter_cols * p.filter_depth * p.out_depth);
  dy->resize(p.batch * p.out_rows * p.out_cols * p.out_depth);
  for (auto& v : *w) v = Random<Elem>(rng);
  for (auto& v : *dy) v = Random<Elem>(rng);
  if (poison.name[0] != '\0') {
    auto& target = poison.in_filter ? *w : *dy;
    target[PoisonIndex(p, poison, static_cast<int64_t>(target.size()))] =
        FromDouble<Elem>(poison.value);
  }
}

// dx from a direct loop over the convolution in IEEE double, skipping taps
// outside dy as TensorFlow does, with the sum of |terms| of each value.
template <typename Acc, typename Elem>
void ReferenceDx(const ConvProblem& p, const std::vector<Elem>& w, const std::vector<Elem>& dy,
                 std::vector<double>* want, std::vector<double>* magnitude) {
  const size_t size = static_cast<size_t>(p.batch * p.in_rows * p.in_cols * p.in_depth);
  want->assign(size, 0.0);
  magnitude->assign(size, 0.0);
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t q = 0; q < p.out_rows; ++q)
      for (int64_t c = 0; c < p.out_cols; ++c)
        for (int64_t r = 0; r < p.filter_rows; ++r)
          for (int64_t t = 0; t < p.filter_cols; ++t) {
            const int64_t h = q * p.stride_rows + r * p.dilation_rows - p.pad_top;
            const int64_t x = c * p.stride_cols + t * p.dilation_cols - p.pad_left;
            if (h < 0 || h >= p.in_rows || x < 0 || x >= p.in_cols) continue;
            for (int64_t g = 0; g < p.groups; ++g)
              for (int64_t ci = 0; ci < p.filter_depth; ++ci)
                for (int64_t o = 0; o < p.out_depth_per_group; ++o) {
                  const int64_t k = g * p.out_depth_per_group + o;
                  const double term =
                      Value<Acc>(dy[((n * p.out_rows + q) * p.out_cols + c) * p.out_depth + k]) *
                      Value<Acc>(w[((r * p.filter_cols + t) * p.filter_depth + ci) * p.out_depth + k]);
                  const int64_t at = ((n * p.in_rows + h) * p.in_cols + x) * p.in_depth +
                                     g * p.filter_depth + ci;
                  (*want)[at] += term;
                  (*magnitude)[at] += std::fabs(term);
                }
          }
}

// The engine's dx against ReferenceDx, within float accumulation in any order.
template <typename Acc, typename Elem>
bool MatchesReference(const ConvProblem& p, const std::vector<Elem>& w,
                      const std::vector<Elem>& dy, AlignedBuffer<Acc>& dx) {
  std::vector<double> want, magnitude;
  ReferenceDx<Acc>(p, w, dy, &want, &magnitude);
  bool ok = true;
  for (size_t i = 0; i < dx.size(); ++i) ok = ok && Close(dx[i], want[i], magnitude[i]);
  return ok;
}

// 2. The engine with that kernel (dy and dx used in place) against the
// reference loop, with an optional non-finite value planted.
// `split_work`: packed in two parts and computed as the op does for few
// rows: two ranges of rows, each in three parts of the channel blocks.
template <typename Acc, typename Elem>
bool CheckEngine(const MicroKernel<Acc, Elem>& kernel, const Shape& s, bool stream_dx,
                 std::mt19937& rng, const Poison& poison = kNoPoison, bool split_work = false) {
  ConvProblem p;
  if (!ProblemWithWork(s, &p)) return false;
  std::vector<Elem> w, dy;
  RandomOperands(p, rng, poison, &w, &dy);
  AlignedBuffer<Acc> dx(p.batch * p.in_rows * p.in_cols * p.in_depth, static_cast<Acc>(55));

  GatherEngine<Acc, Elem> engine(p, kernel);
  engine.set_stream_dx(stream_dx);
  tf_custom_op::InPlaceNhwcIO<Acc, Elem> io(p, dy.data(), dx.data());
  if (split_work) {
    const int64_t parts = engine.NumPackParts(), rows = engine.NumRowUnits();
    const bool finite = engine.PackParts(w.data(), 0, parts / 2);
    engine.FinishPacking(engine.PackParts(w.data(), parts / 2, parts) && finite);
    for (int64_t part = 0; part < 3; ++part) {
      const auto blocks = engine.ChannelSplit(part, 3);
      engine.ComputeRows(io, 0, rows / 2, blocks);
      engine.ComputeRows(io, rows / 2, rows, blocks);
    }
  } else {
    engine.PackFilter(w.data());
    engine.ComputeRows(io, 0, engine.NumRowUnits());
  }
  return MatchesReference(p, w, dy, dx);
}

// 4. The pixel-vector engine (pixel_engine.h) with that tier's tiles, its
// rows computed in `calls` consecutive ranges (as the op's threads take
// them). A filter with Inf or NaN must be refused (PackFilter false: the op
// then runs the gather engine); Inf or NaN in dy must come out as in the
// reference.
bool CheckPixelEngine(const tf_custom_op::PixelKernel& kernel, const Shape& s, int64_t calls,
                      std::mt19937& rng, const Poison& poison = kNoPoison) {
  ConvProblem p;
  if (!ProblemWithWork(s, &p)) return false;
  std::vector<float> w, dy;
  RandomOperands(p, rng, poison, &w, &dy);
  AlignedBuffer<float> dx(p.batch * p.in_rows * p.in_cols * p.in_depth, 55.0f);
  tf_custom_op::PixelEngine engine(p, kernel);
  const bool finite = engine.PackFilter(w.data());
  if (poison.name[0] != '\0' && poison.in_filter) return !finite;
  if (!finite) return false;
  tf_custom_op::InPlaceNhwcIO<float> io(p, dy.data(), dx.data());
  const int64_t rows = engine.NumRowUnits();
  for (int64_t part = 0; part < calls; ++part) {
    engine.ComputeRows(io, rows * part / calls, rows * (part + 1) / calls);
  }
  return MatchesReference(p, w, dy, dx);
}

const Shape kShapes[] = {
    // n, h, w, c, r, s, groups, k, sh, sw, dh, dw, padding, explicit pads
    {2, 7, 9, 5, 3, 3, 1, 7, 1, 1, 1, 1, PaddingKind::kSame},
    {1, 8, 8, 19, 3, 3, 1, 13, 1, 1, 1, 1, PaddingKind::kSame},  // channel tails
    {2, 9, 10, 4, 4, 4, 1, 6, 2, 2, 1, 1, PaddingKind::kSame},
    {1, 11, 7, 6, 3, 2, 2, 10, 3, 2, 1, 1, PaddingKind::kValid},
    {2, 10, 13, 3, 3, 3, 1, 4, 1, 2, 2, 3, PaddingKind::kSame},
    {1, 6, 14, 24, 2, 3, 3, 12, 2, 1, 2, 1, PaddingKind::kExplicit, 2, 0, 1, 3},
    {3, 5, 5, 17, 1, 1, 1, 33, 1, 1, 1, 1, PaddingKind::kValid},  // 1x1: a plain GEMM
    {1, 4, 23, 2, 5, 5, 1, 3, 2, 3, 1, 1, PaddingKind::kExplicit, 4, 4, 4, 4},
    {1, 3, 3, 6, 5, 5, 1, 2, 4, 4, 1, 1, PaddingKind::kSame},  // phases without taps
    // Pixels a whole number of lines apart: full tiles that can be streamed.
    {2, 5, 13, 32, 3, 3, 1, 9, 1, 1, 1, 1, PaddingKind::kSame},
    // Phase rows longer than 2 MR + 1 for every kernel's MR (16 at most):
    // several whole tiles, then the split of what is left.
    {1, 3, 75, 3, 3, 3, 1, 5, 2, 2, 1, 1, PaddingKind::kSame},
    {1, 2, 41, 4, 3, 3, 1, 3, 1, 1, 1, 1, PaddingKind::kSame},
    {1, 8, 70, 3, 3, 3, 1, 4, 2, 2, 2, 3, PaddingKind::kSame},
    // Dilation with stride: phase membership depends on both.
    {2, 8, 11, 4, 2, 3, 2, 6, 3, 2, 3, 2, PaddingKind::kValid},
    {1, 7, 9, 5, 3, 2, 1, 6, 2, 3, 2, 2, PaddingKind::kExplicit, 1, 2, 3, 0},
    {1, 9, 12, 4, 4, 4, 1, 5, 2, 2, 2, 2, PaddingKind::kSame},
    {2, 10, 9, 3, 3, 3, 1, 2, 3, 3, 3, 2, PaddingKind::kSame},
    // Small maps and images enough: tiles across images (every kernel's MR
    // is at most 16: 8 to 17 images), with their taps trimmed per pixel.
    {13, 5, 6, 5, 3, 3, 1, 9, 1, 1, 1, 1, PaddingKind::kSame},
    {8, 7, 7, 4, 5, 5, 1, 6, 1, 1, 1, 1, PaddingKind::kSame},
    {17, 8, 8, 6, 4, 4, 2, 8, 2, 2, 1, 1, PaddingKind::kSame},
    {9, 6, 9, 3, 3, 3, 1, 5, 1, 2, 2, 2, PaddingKind::kExplicit, 1, 0, 2, 1},
    {10, 3, 3, 6, 5, 5, 1, 2, 4, 4, 1, 1, PaddingKind::kSame},  // phases without taps
    // Dilations wider than a tile: edge tiles leave out whole column taps.
    {1, 5, 40, 3, 3, 3, 1, 5, 1, 1, 1, 12, PaddingKind::kSame},
    {1, 6, 50, 4, 3, 3, 2, 6, 2, 2, 1, 8, PaddingKind::kSame},
};

// K_g at and around every kernel's k-step (1 for float, pairs for bfloat16,
// 32 for the AMX tile), over strided, grouped and dilated windows.
const int64_t kKStepDepths[] = {15, 16, 17, 31, 32, 33, 63, 64, 65};
Shape KStepShape(int index, int64_t kg) {
  if (index % 2 == 0) return {1, 4, 5, 3, 4, 4, 1, kg, 2, 2, 1, 1, PaddingKind::kSame};
  return {1, 5, 4, 4, 3, 3, 2, kg * 2, 1, 2, 2, 1, PaddingKind::kSame};
}

// Shapes for the non-finite checks: K_g odd (the bfloat16 kernels pair its
// last k with a zero) and even, with rows long enough for interior tiles of
// every MR (which read no zero row) beside edge tiles (which do).
const Shape kNonFiniteShapes[] = {
    {1, 5, 6, 2, 3, 3, 1, 3, 1, 1, 1, 1, PaddingKind::kSame},
    {1, 5, 40, 2, 3, 3, 1, 3, 1, 1, 1, 1, PaddingKind::kSame},
    {1, 4, 40, 4, 3, 3, 2, 6, 1, 1, 1, 1, PaddingKind::kSame},
    {2, 6, 36, 6, 4, 4, 2, 8, 2, 2, 1, 1, PaddingKind::kSame},
    {1, 5, 38, 3, 3, 3, 1, 8, 1, 2, 2, 1, PaddingKind::kSame},
    {13, 5, 6, 2, 3, 3, 1, 3, 1, 1, 1, 1, PaddingKind::kSame},  // tiles across images
};

template <typename Acc, typename Elem>
void CheckTable(const char* dtype, KernelTable<Acc, Elem> table, std::mt19937& rng) {
  for (int i = 0; i < table.size; ++i) {
    const auto& entry = table.entries[i];
    const char* tier = tf_custom_op::IsaTierName(entry.tier);
    const char* how = tf_custom_op::TierIsEmulated(entry.tier) ? " (emulated)" : "";
    if (!tf_custom_op::CpuSupportsTier(entry.tier)) {
      std::printf("SKIP %-22s %-8s (this CPU lacks %s)\n", entry.kernel->name, dtype, tier);
      continue;
    }
    const bool micro_ok = CheckMicroKernel(*entry.kernel, rng);
    Report(micro_ok, std::string(entry.kernel->name) + " micro-kernel");
    int shape_index = 0;
    bool engine_ok = true;
    for (const Shape& shape : kShapes) {
      for (bool stream_dx : {false, true}) {
        if (stream_dx && entry.kernel->stream_fn == nullptr) continue;
        const bool ok = CheckEngine(*entry.kernel, shape, stream_dx, rng);
        Report(ok, std::string(entry.kernel->name) + " engine shape " +
                       std::to_string(shape_index) + (stream_dx ? " (dx streamed)" : ""));
        engine_ok = engine_ok && ok;
      }
      const bool split_ok = CheckEngine(*entry.kernel, shape, false, rng, kNoPoison, true);
      Report(split_ok, std::string(entry.kernel->name) + " engine shape " +
                           std::to_string(shape_index) + " (packed and computed in parts)");
      engine_ok = engine_ok && split_ok;
      ++shape_index;
    }
    int k_step_index = 0;
    for (const int64_t kg : kKStepDepths) {
      const bool ok = CheckEngine(*entry.kernel, KStepShape(k_step_index, kg), false, rng);
      Report(ok, std::string(entry.kernel->name) + " engine K_g " + std::to_string(kg));
      engine_ok = engine_ok && ok;
      ++k_step_index;
    }
    int non_finite_checks = 0;
    if constexpr (!std::is_integral_v<Acc>) {
      int index = 0;
      for (const Shape& shape : kNonFiniteShapes) {
        for (const Poison& poison : kPoisons) {
          const bool ok = CheckEngine(*entry.kernel, shape, false, rng, poison);
          Report(ok, std::string(entry.kernel->name) + " non-finite shape " +
                         std::to_string(index) + ": " + poison.name);
          engine_ok = engine_ok && ok;
          ++non_finite_checks;
        }
        ++index;
      }
    }
    std::printf("%s %-22s %-8s tier %s%s: micro-kernel, %d engine shapes, %d K_g steps, "
                "%d non-finite\n",
                micro_ok && engine_ok ? "RAN " : "FAIL", entry.kernel->name, dtype, tier, how,
                shape_index, k_step_index, non_finite_checks);
  }
}

// Grouped shapes with 1 to 8 channels per group (every channel block and
// their sums), strided, dilated and padded, with rows longer than the widest
// tile: what the op sends to the pixel-vector engine.
const Shape kPixelShapes[] = {
    {2, 9, 40, 32, 3, 3, 4, 32, 1, 1, 1, 1, PaddingKind::kSame},
    {1, 7, 58, 21, 3, 3, 3, 15, 1, 1, 1, 1, PaddingKind::kSame},
    {2, 10, 37, 15, 4, 4, 5, 10, 2, 2, 1, 1, PaddingKind::kSame},
    {1, 8, 30, 6, 3, 3, 6, 6, 1, 1, 1, 1, PaddingKind::kSame},  // depthwise-like
    {1, 9, 33, 12, 5, 5, 2, 18, 2, 3, 1, 1, PaddingKind::kExplicit, 2, 1, 0, 4},
    {2, 8, 26, 10, 3, 3, 2, 8, 1, 1, 2, 3, PaddingKind::kSame},
    {1, 6, 150, 6, 3, 3, 3, 9, 1, 1, 1, 1, PaddingKind::kValid},
    {1, 3, 3, 8, 5, 5, 2, 4, 4, 4, 1, 1, PaddingKind::kSame},  // phases without taps
};

void CheckPixelTable(std::mt19937& rng) {
  const tf_custom_op::PixelKernelTable table = tf_custom_op::FloatPixelKernels();
  for (int i = 0; i < table.size; ++i) {
    const auto& entry = table.entries[i];
    const char* tier = tf_custom_op::IsaTierName(entry.tier);
    const char* how = tf_custom_op::TierIsEmulated(entry.tier) ? " (emulated)" : "";
    if (!tf_custom_op::CpuSupportsTier(entry.tier)) {
      std::printf("SKIP pixel kernel            float32  (this CPU lacks %s)\n", tier);
      continue;
    }
    const tf_custom_op::PixelKernel& kernel = entry.kernel();
    bool all_ok = true;
    int checks = 0;
    auto check = [&](bool ok, const std::string& what) {
      Report(ok, std::string(kernel.name) + " " + what);
      all_ok = all_ok && ok;
      ++checks;
    };
    int index = 0;
    for (const Shape& shape : kPixelShapes) {
      for (int64_t calls : {1, 3}) {
        check(CheckPixelEngine(kernel, shape, calls, rng),
              "shape " + std::to_string(index) + " in " + std::to_string(calls) + " calls");
      }
      ++index;
    }
    index = 0;
    for (const Shape& shape : kShapes) {  // the engine is correct for any problem
      check(CheckPixelEngine(kernel, shape, 2, rng), "engine shape " + std::to_string(index++));
    }
    index = 0;
    for (const Shape& shape : kNonFiniteShapes) {
      for (const Poison& poison : kPoisons) {
        check(CheckPixelEngine(kernel, shape, 1, rng, poison),
              "non-finite shape " + std::to_string(index) + ": " + poison.name);
      }
      ++index;
    }
    std::printf("%s %-22s %-8s tier %s%s: %d checks\n", all_ok ? "RAN " : "FAIL", kernel.name,
                "float32", tier, how, checks);
  }
}

// 6. The Winograd engine (winograd_engine.h).
// The bound the op promises for Winograd (docs/CONTRACT.md): the largest
// error of a float32 dx, against the same sums in double, at most this
// fraction of max|dx|.
constexpr double kWinogradBound = 2e-5;

// Each transform F(m, r) alone, in double: AT [(G g) .* (BT d)] must be the
// correlation sum_j d[i + j] g[j] to rounding, for every m and r the engine
// may use and a few more (what would catch a wrong point or a wrong row
// scaling before any convolution runs).
bool CheckAxisTransforms(std::mt19937& rng) {
  std::uniform_real_distribution<double> value(-1, 1);
  bool ok = true;
  for (int m = 1; m <= 6; ++m) {
    for (int r = 1; r <= tf_custom_op::kMaxAlpha + 1 - m; ++r) {
      tf_custom_op::AxisTransform t;
      if (!tf_custom_op::MakeAxisTransform(m, r, &t)) return false;
      double d[tf_custom_op::kMaxAlpha], g[tf_custom_op::kMaxAlpha];
      for (int i = 0; i < t.alpha; ++i) d[i] = value(rng);
      for (int j = 0; j < r; ++j) g[j] = value(rng);
      double product[tf_custom_op::kMaxAlpha];
      for (int xi = 0; xi < t.alpha; ++xi) {
        double gt = 0.0, dt = 0.0;
        for (int e = 0; e < t.g.count[xi]; ++e) gt += t.g.coef[xi][e] * g[t.g.index[xi][e]];
        for (int e = 0; e < t.bt.count[xi]; ++e) dt += t.bt.coef[xi][e] * d[t.bt.index[xi][e]];
        product[xi] = gt * dt;
      }
      for (int i = 0; i < m; ++i) {
        double got = 0.0, want = 0.0;
        for (int e = 0; e < t.at.count[i]; ++e) got += t.at.coef[i][e] * product[t.at.index[i][e]];
        for (int j = 0; j < r; ++j) want += d[i + j] * g[j];
        // G's fractions are floats (1/6 to 7 digits).
        ok = ok && std::fabs(got - want) <= 1e-6;
      }
    }
  }
  return ok;
}

// The constant matrices of winograd_fixed.h are what MakeAxisTransform
// builds for the same m and r, entry by entry.
bool CheckFixedMatrices() {
  bool ok = true;
  for (const tf_custom_op::WinogradFixedKey& key : tf_custom_op::kWinogradFixedKeys) {
    tf_custom_op::AxisTransform t;
    if (!tf_custom_op::MakeAxisTransform(key.m, key.taps, &t)) return false;
    const tf_custom_op::SparseRows& built = key.output ? t.at : t.bt;
    ok = ok && built.rows == key.matrix->rows && built.inputs == key.matrix->inputs;
    for (int i = 0; i < built.rows; ++i) {
      float dense[tf_custom_op::kMaxAlpha] = {};
      for (int e = 0; e < built.count[i]; ++e) dense[built.index[i][e]] = built.coef[i][e];
      for (int j = 0; j < built.inputs; ++j) ok = ok && dense[j] == key.matrix->v[i][j];
    }
  }
  return ok;
}

// The largest |dx - reference| over max|reference| (non-finite references
// must be met exactly: any mismatch returns infinity).
double WinogradError(const ConvProblem& p, const std::vector<float>& w,
                     const std::vector<float>& dy, AlignedBuffer<float>& dx) {
  std::vector<double> want, magnitude;
  ReferenceDx<float>(p, w, dy, &want, &magnitude);
  double largest = 0.0, worst = 0.0;
  for (size_t i = 0; i < dx.size(); ++i) {
    const double got = dx[i];
    if (!std::isfinite(want[i])) {
      const bool same = std::isnan(want[i]) ? std::isnan(got) : got == want[i];
      if (!same) return INFINITY;
      continue;
    }
    if (!std::isfinite(got)) return INFINITY;
    largest = std::max(largest, std::fabs(want[i]));
    worst = std::max(worst, std::fabs(got - want[i]));
  }
  return worst / std::max(largest, 1e-30);
}

// How the engine is driven in a check: in place in one call, in place with
// the filter packed in two parts and the units computed in three ranges (as
// the op's threads take them), or through staged rows (half, bfloat16, NCHW).
enum class WinogradRun { kWhole, kParts, kStaged };

// Runs the Winograd engine on `s` with data of mixed magnitude when asked
// (each k and channel scaled by 10^U(-2, 2)). Returns the relative error, or
// infinity when dx is wrong; a filter holding Inf or NaN must be refused.
double RunWinograd(const MicroKernel<float>& gemm, const tf_custom_op::WinogradKernel& transforms,
                   const Shape& s, WinogradRun how, bool mixed, std::mt19937& rng,
                   const Poison& poison = kNoPoison) {
  ConvProblem p;
  if (!ProblemWithWork(s, &p) || !tf_custom_op::WinogradEngine::ShapeSuits(p)) return INFINITY;
  std::vector<float> w, dy;
  RandomOperands(p, rng, poison, &w, &dy);
  if (mixed) {
    std::uniform_real_distribution<double> exponent(-2, 2);
    std::vector<float> k_scale(p.out_depth), c_scale(p.in_depth);
    for (auto& v : k_scale) v = static_cast<float>(std::pow(10.0, exponent(rng)));
    for (auto& v : c_scale) v = static_cast<float>(std::pow(10.0, exponent(rng)));
    for (size_t i = 0; i < dy.size(); ++i) dy[i] *= k_scale[i % p.out_depth];
    for (size_t i = 0; i < w.size(); ++i) {
      w[i] *= c_scale[(i / p.out_depth) % p.in_depth] * k_scale[i % p.out_depth];
    }
  }
  AlignedBuffer<float> dx(p.batch * p.in_rows * p.in_cols * p.in_depth, 55.0f);
  tf_custom_op::WinogradEngine engine(p, gemm, transforms);
  const int64_t parts = engine.NumPackParts(), units = engine.NumRowUnits();
  bool finite = true;
  if (how == WinogradRun::kParts) {
    finite = engine.PackParts(w.data(), 0, parts / 2);
    finite = engine.PackParts(w.data(), parts / 2, parts) && finite;
  } else {
    finite = engine.PackParts(w.data(), 0, parts);
  }
  if (poison.name[0] != '\0' && poison.in_filter) return finite ? INFINITY : 0.0;
  if (!finite) return INFINITY;
  tf_custom_op::InPlaceNhwcIO<float> in_place(p, dy.data(), dx.data());
  tf_custom_op::StagedNhwcIO<float> staged(p, dy.data(), dx.data());
  const tf_custom_op::RowIO<float>& io =
      how == WinogradRun::kStaged ? static_cast<const tf_custom_op::RowIO<float>&>(staged)
                                  : in_place;
  const int64_t calls = how == WinogradRun::kParts ? 3 : 1;
  for (int64_t part = 0; part < calls; ++part) {
    engine.ComputeRows(io, w.data(), units * part / calls, units * (part + 1) / calls);
  }
  return WinogradError(p, w, dy, dx);
}

// Dense phases of 1 to 5 taps per axis, as the op sends them.
const Shape kWinogradShapes[] = {
    // n, h, w, c, r, s, groups, k, sh, sw, dh, dw, padding, explicit pads
    {2, 9, 11, 19, 3, 3, 1, 21, 1, 1, 1, 1, PaddingKind::kSame},  // C and K tails
    {1, 14, 14, 33, 3, 3, 1, 17, 1, 1, 1, 1, PaddingKind::kValid},
    {5, 7, 7, 16, 3, 3, 1, 40, 1, 1, 1, 1, PaddingKind::kSame},  // passes across images
    {2, 10, 12, 20, 4, 4, 1, 24, 2, 2, 1, 1, PaddingKind::kSame},  // 2x2 taps per phase
    {1, 11, 9, 18, 5, 5, 1, 13, 2, 2, 1, 1, PaddingKind::kSame},  // 3x3, 3x2, 2x3, 2x2
    {2, 9, 13, 12, 3, 3, 1, 9, 2, 2, 1, 1, PaddingKind::kSame},  // 2x2 down to 1x1
    {1, 8, 8, 10, 2, 2, 1, 12, 2, 2, 1, 1, PaddingKind::kValid},  // 1x1 phases
    {1, 9, 10, 8, 3, 2, 1, 7, 1, 1, 1, 1, PaddingKind::kExplicit, 2, 0, 1, 1},
    {1, 12, 12, 8, 3, 3, 1, 8, 2, 2, 2, 2, PaddingKind::kSame},  // dilated, dense phases
    {1, 5, 70, 24, 3, 3, 1, 20, 1, 1, 1, 1, PaddingKind::kSame},  // several blocks a row
    {1, 3, 3, 6, 3, 3, 1, 5, 4, 4, 1, 1, PaddingKind::kSame},  // phases without taps
    {1, 6, 6, 70, 3, 3, 1, 300, 1, 1, 1, 1, PaddingKind::kSame},  // deep K, 3 channel blocks
    // 4 and 5 taps per axis: tiles of 2 (F(2, 4), F(2, 5)).
    {2, 9, 10, 20, 5, 5, 1, 18, 1, 1, 1, 1, PaddingKind::kSame},
    {1, 10, 11, 17, 4, 4, 1, 19, 1, 1, 1, 1, PaddingKind::kSame},
    {1, 8, 7, 33, 5, 4, 1, 21, 1, 1, 1, 1, PaddingKind::kValid},
};

void CheckWinogradTable(std::mt19937& rng) {
  Report(CheckAxisTransforms(rng), "Winograd transforms F(m, r), m + r <= 9");
  Report(CheckFixedMatrices(), "Winograd fixed matrices (winograd_fixed.h) as built");
  const tf_custom_op::WinogradKernelTable table = tf_custom_op::FloatWinogradKernels();
  const KernelTable<float> gemms = tf_custom_op::FloatKernels();
  for (int i = 0; i < table.size; ++i) {
    const auto& entry = table.entries[i];
    const char* tier = tf_custom_op::IsaTierName(entry.tier);
    const char* how = tf_custom_op::TierIsEmulated(entry.tier) ? " (emulated)" : "";
    if (!tf_custom_op::CpuSupportsTier(entry.tier)) {
      std::printf("SKIP winograd transforms     float32  (this CPU lacks %s)\n", tier);
      continue;
    }
    // The GEMMs run on the float kernel of the same tier, as in the op.
    const MicroKernel<float>* gemm = nullptr;
    for (int g = 0; g < gemms.size && gemm == nullptr; ++g) {
      if (gemms.entries[g].tier == entry.tier) gemm = gemms.entries[g].kernel;
    }
    const tf_custom_op::WinogradKernel& transforms = entry.kernel();
    bool all_ok = true;
    int checks = 0;
    double worst = 0.0;
    auto check = [&](double error, const std::string& what) {
      const bool ok = error <= kWinogradBound;
      if (std::getenv("TFCO_WINOGRAD_ERRORS")) std::printf("  %.3g %s\n", error, what.c_str());
      Report(ok, std::string(transforms.name) + " " + what);
      all_ok = all_ok && ok;
      worst = std::isfinite(error) ? std::max(worst, error) : worst;
      ++checks;
    };
    int index = 0;
    for (const Shape& shape : kWinogradShapes) {
      const std::string name = "shape " + std::to_string(index++);
      check(RunWinograd(*gemm, transforms, shape, WinogradRun::kWhole, false, rng), name);
      check(RunWinograd(*gemm, transforms, shape, WinogradRun::kParts, false, rng),
            name + " (packed and computed in parts)");
      check(RunWinograd(*gemm, transforms, shape, WinogradRun::kStaged, false, rng),
            name + " (staged rows)");
      check(RunWinograd(*gemm, transforms, shape, WinogradRun::kWhole, true, rng),
            name + " (mixed magnitudes)");
    }
    index = 0;
    for (const Shape& shape : kNonFiniteShapes) {
      ConvProblem p;
      if (!ProblemWithWork(shape, &p) || !tf_custom_op::WinogradEngine::ShapeSuits(p)) {
        ++index;
        continue;
      }
      for (const Poison& poison : kPoisons) {
        check(RunWinograd(*gemm, transforms, shape, WinogradRun::kWhole, false, rng, poison),
              "non-finite shape " + std::to_string(index) + ": " + poison.name);
      }
      ++index;
    }
    std::printf("%s %-22s %-8s tier %s%s: %d checks, largest error %.2g of max|dx|\n",
                all_ok ? "RAN " : "FAIL", transforms.name, "float32", tier, how, checks, worst);
  }
}

// 5. The bfloat16 row converters (bfloat16_convert.h) against the portable
// loops, bit for bit: ties at every rounding position, NaN with payloads and
// signs, Inf, denormals and random bits, at every length up to 40 (the
// vector loops' tails).
void CheckBfloat16Converters(std::mt19937& rng) {
  const tf_custom_op::Bfloat16Converter& chosen = tf_custom_op::SelectBfloat16Converter();
  std::vector<uint32_t> bits = {0x00000000u, 0x80000000u, 0x7f800000u, 0xff800000u,
                                0x7fc00000u, 0xffc00001u, 0x7f800001u, 0xff80ffffu,
                                0x00000001u, 0x807fffffu, 0x00008000u, 0x00018000u,
                                0x3f808000u, 0x3f818000u, 0x3f80ffffu, 0x7f7fffffu,
                                0x7f7f8000u, 0xc0007fffu, 0x40008000u, 0x4000c000u};
  std::uniform_int_distribution<uint32_t> any;
  while (bits.size() < 40) bits.push_back(any(rng));
  bool ok = true;
  for (size_t n = 0; n <= bits.size(); ++n) {
    // One element more than converted: the vectors are never empty (a null
    // pointer must not reach memcpy), and the extra one must stay untouched.
    std::vector<float> wide(n + 1);
    std::memcpy(wide.data(), bits.data(), n * sizeof(float));
    std::vector<uint16_t> narrow(n + 1, 0xdead), narrow_chosen(n + 1, 0xdead);
    tf_custom_op::NarrowToBfloat16(wide.data(), narrow.data(), static_cast<int64_t>(n));
    chosen.from_float(wide.data(), narrow_chosen.data(), static_cast<int64_t>(n));
    ok = ok && narrow == narrow_chosen;
    std::vector<float> back(n + 1, 7.0f), back_chosen(n + 1, 7.0f);
    tf_custom_op::WidenBfloat16(narrow.data(), back.data(), static_cast<int64_t>(n));
    chosen.to_float(narrow.data(), back_chosen.data(), static_cast<int64_t>(n));
    ok = ok && std::memcmp(back.data(), back_chosen.data(), (n + 1) * sizeof(float)) == 0;
  }
  Report(ok, "bfloat16 row converters");
  std::printf("%s bfloat16 row converters (the chosen one against the portable loops)\n",
              ok ? "RAN " : "FAIL");
}

}  // namespace

int main(int argc, char** argv) {
  g_quick = argc > 1 && std::string(argv[1]) == "--quick";
  std::mt19937 rng(20261205);
  std::printf("usable tier here: %s\n", tf_custom_op::IsaTierName(tf_custom_op::MaxUsableTier()));
  CheckTable("float32", tf_custom_op::FloatKernels(), rng);
  CheckTable("float64", tf_custom_op::DoubleKernels(), rng);
  CheckTable("int32", tf_custom_op::Int32Kernels(), rng);
  CheckTable("bfloat16", tf_custom_op::Bf16Kernels(), rng);
  CheckTable("float32", tf_custom_op::FewChannelFloatKernels(), rng);
  CheckPixelTable(rng);
  CheckWinogradTable(rng);
  CheckBfloat16Converters(rng);
  std::printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
