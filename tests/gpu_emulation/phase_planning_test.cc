// Unit test of the CUDA launcher's host-side planning
// (cc/kernels/gpu/phase_planning.h), with plain g++: no CUDA, no emulation.
//
// For many stride / dilation / padding / filter / size combinations it checks
// MakePhasePlan against a brute-force enumeration of the convolution's taps
// (docs/CONTRACT.md section 2: dx[h] receives dy[p] * w[r] exactly when
// h = p * stride + r * dilation - pad_before), walking each phase's taps the
// way the kernels do (first tap plus constant steps); and it checks that the
// per-launch tables of FillPhaseTable, read back through PhaseOfBlock like the
// kernels do, give every dx row of every phase exactly one owner block.
//
// Build (tests/test_gpu_emulation.py and `make gpu-phase-planning` do this):
//   g++ -std=c++17 -O2 -Wall -Wextra -I. tests/gpu_emulation/phase_planning_test.cc
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cc/kernels/axis_window.h"
#include "cc/kernels/conv_params.h"
#include "cc/kernels/gpu/kernel_args.h"
#include "cc/kernels/gpu/phase_planning.h"

namespace {

using tf_custom_op::ConvProblem;
using tf_custom_op::PaddingKind;
using tf_custom_op::gpu::FillPhaseTable;
using tf_custom_op::gpu::MakePhasePlan;
using tf_custom_op::gpu::PhaseDesc;
using tf_custom_op::gpu::PhaseOfBlock;
using tf_custom_op::gpu::PhasePlan;
using tf_custom_op::gpu::PhaseTable;

// One spatial axis of a problem.
struct Axis {
  int64_t in, filter, stride, dilation, pad_before, out;
};

std::vector<Axis> AxisConfigs() {
  std::vector<Axis> v;
  for (int64_t in : {1, 2, 3, 5, 8, 13}) {
    for (int64_t filter : {1, 2, 3, 4, 5}) {
      for (int64_t stride : {1, 2, 3, 4, 5, 7}) {
        for (int64_t dilation : {1, 2, 3}) {
          // SAME, VALID and explicit (asymmetric, larger than the filter).
          std::vector<tf_custom_op::AxisWindow<int64_t>> windows = {
              tf_custom_op::ResolveAxisWindow<int64_t>(PaddingKind::kSame, in, filter,
                                                       stride, dilation),
              tf_custom_op::ResolveAxisWindow<int64_t>(PaddingKind::kValid, in, filter,
                                                       stride, dilation)};
          for (int64_t before : {0, 1, 3, 6}) {
            for (int64_t after : {0, 2, 5}) {
              windows.push_back(tf_custom_op::ResolveAxisWindow<int64_t>(
                  PaddingKind::kExplicit, in, filter, stride, dilation, before, after));
            }
          }
          for (const auto& w : windows) {
            if (w.out < 0) continue;  // the op rejects these
            v.push_back(Axis{in, filter, stride, dilation, w.before, w.out});
          }
        }
      }
    }
  }
  return v;
}

std::string Describe(const Axis& r, const Axis& c) {
  char buf[240];
  std::snprintf(buf, sizeof(buf),
                "rows(in %lld filter %lld stride %lld dil %lld pad %lld out %lld) "
                "cols(in %lld filter %lld stride %lld dil %lld pad %lld out %lld)",
                static_cast<long long>(r.in), static_cast<long long>(r.filter),
                static_cast<long long>(r.stride), static_cast<long long>(r.dilation),
                static_cast<long long>(r.pad_before), static_cast<long long>(r.out),
                static_cast<long long>(c.in), static_cast<long long>(c.filter),
                static_cast<long long>(c.stride), static_cast<long long>(c.dilation),
                static_cast<long long>(c.pad_before), static_cast<long long>(c.out));
  return buf;
}

ConvProblem MakeParams(int64_t batch, const Axis& r, const Axis& c) {
  ConvProblem p{};
  p.batch = batch;
  p.in_rows = r.in;
  p.in_cols = c.in;
  p.in_depth = 3;
  p.out_rows = r.out;
  p.out_cols = c.out;
  p.out_depth = 2;
  p.filter_rows = r.filter;
  p.filter_cols = c.filter;
  p.filter_depth = 3;
  p.groups = 1;
  p.out_depth_per_group = 2;
  p.stride_rows = r.stride;
  p.stride_cols = c.stride;
  p.dilation_rows = r.dilation;
  p.dilation_cols = c.dilation;
  p.pad_top = r.pad_before;
  p.pad_left = c.pad_before;
  return p;
}

// (filter index, dy index) pairs that contribute to dx index `h` along one
// axis, straight from the convolution's definition.
std::set<std::pair<int64_t, int64_t>> BruteForceTaps(const Axis& a, int64_t h) {
  std::set<std::pair<int64_t, int64_t>> taps;
  for (int64_t p = 0; p < a.out; ++p) {
    for (int64_t r = 0; r < a.filter; ++r) {
      if (p * a.stride + r * a.dilation - a.pad_before == h) taps.insert({r, p});
    }
  }
  return taps;
}

// The taps of phase-local index i as the kernels walk them: tap t is filter
// index first + t * tap_step at dy index i + off0 - t * off_step, kept when
// that index lies inside dy (the kernels load zero outside it).
std::set<std::pair<int64_t, int64_t>> WalkedTaps(int64_t first, int64_t off0, int64_t taps,
                                                 int64_t tap_step, int64_t off_step,
                                                 int64_t i, int64_t out) {
  std::set<std::pair<int64_t, int64_t>> walked;
  for (int64_t t = 0; t < taps; ++t) {
    const int64_t p = i + off0 - t * off_step;
    if (p >= 0 && p < out) walked.insert({first + t * tap_step, p});
  }
  return walked;
}

// Returns an empty string when the plan of (rows, cols) matches the brute
// force, else the first mismatch.
std::string CheckPlan(const Axis& ra, const Axis& ca) {
  const int64_t batch = 2;
  const ConvProblem p = MakeParams(batch, ra, ca);
  PhasePlan plan;
  if (!MakePhasePlan(p, &plan)) return "MakePhasePlan refused a small problem";
  const int64_t row_phases = std::min(ra.stride, ra.in);
  const int64_t col_phases = std::min(ca.stride, ca.in);
  if (static_cast<int64_t>(plan.phases.size()) != row_phases * col_phases) {
    return "wrong number of phases";
  }
  // Each dx pixel: its phase, then the taps the kernels walk, against the
  // brute force. Every tap reaching the pixel (inside dy) must be walked,
  // and nothing else.
  for (int64_t h = 0; h < ra.in; ++h) {
    for (int64_t x = 0; x < ca.in; ++x) {
      const int64_t a = h % ra.stride, b = x % ca.stride;
      const PhaseDesc& d = plan.phases[static_cast<size_t>(a * col_phases + b)];
      if (d.a != a || d.b != b) return "phases out of order";
      const int64_t i = h / ra.stride, j = x / ca.stride;
      const auto rows_want = BruteForceTaps(ra, h);
      const auto cols_want = BruteForceTaps(ca, x);
      const bool any_want = !rows_want.empty() && !cols_want.empty();
      const auto rows_got = WalkedTaps(d.r0, d.row_off0, d.row_taps, plan.row_tap_step,
                                       plan.row_off_step, i, ra.out);
      const auto cols_got = WalkedTaps(d.s0, d.col_off0, d.col_taps, plan.col_tap_step,
                                       plan.col_off_step, j, ca.out);
      if (!any_want) {
        if (!rows_got.empty() && !cols_got.empty()) return "taps walked where none reach";
        continue;
      }
      if (rows_got != rows_want) return "row taps differ at dx row " + std::to_string(h);
      if (cols_got != cols_want) return "column taps differ at dx column " + std::to_string(x);
    }
  }
  // Per phase: sizes, and a phase with no taps on one axis has none at all
  // (the kernels' step count is row_taps * col_taps * k_chunks).
  for (const PhaseDesc& d : plan.phases) {
    const int64_t rows = (ra.in - d.a + ra.stride - 1) / ra.stride;
    const int64_t cols = (ca.in - d.b + ca.stride - 1) / ca.stride;
    if (d.rows != rows || d.cols != cols || d.m != batch * rows * cols) {
      return "wrong phase size";
    }
    if ((d.row_taps == 0) != (d.col_taps == 0)) return "half-empty phase";
    int64_t row_taps = 0, col_taps = 0;
    for (int64_t r = 0; r < ra.filter; ++r) {
      row_taps += (d.a + ra.pad_before - r * ra.dilation) % ra.stride == 0;
    }
    for (int64_t s = 0; s < ca.filter; ++s) {
      col_taps += (d.b + ca.pad_before - s * ca.dilation) % ca.stride == 0;
    }
    if (row_taps == 0 || col_taps == 0) row_taps = col_taps = 0;
    if (d.row_taps != row_taps || d.col_taps != col_taps) return "wrong tap count";
  }
  return "";
}

// Packs the plan into launches of kMaxPhasesPerLaunch phases and maps every
// block back to its phase like DecodeBlockRows: each row of each phase must
// have exactly one owner block.
std::string CheckTables(const PhasePlan& plan, int64_t bm) {
  std::vector<std::vector<int>> owners(plan.phases.size());
  for (size_t q = 0; q < plan.phases.size(); ++q) {
    owners[q].assign(static_cast<size_t>(plan.phases[q].m), 0);
  }
  PhaseTable table{};
  for (size_t first = 0; first < plan.phases.size();
       first += tf_custom_op::gpu::kMaxPhasesPerLaunch) {
    const int64_t tiles = FillPhaseTable(plan, first, bm, &table);
    if (tiles < 0) return "FillPhaseTable overflowed on a small problem";
    for (int64_t block = 0; block < tiles; ++block) {
      const int ph = PhaseOfBlock(table, static_cast<int32_t>(block));
      const PhaseDesc& d = table.phase[ph];
      const int64_t m_start = (block - d.tile_begin) * bm;
      if (m_start < 0 || m_start >= d.m) return "block without rows";
      for (int64_t m = m_start; m < std::min(m_start + bm, d.m); ++m) {
        ++owners[first + static_cast<size_t>(ph)][static_cast<size_t>(m)];
      }
    }
  }
  for (const auto& rows : owners) {
    for (int n : rows) {
      if (n != 1) return "a dx row has " + std::to_string(n) + " owners";
    }
  }
  return "";
}

// The limits: offsets beyond the kernels' 32-bit arithmetic and launches
// beyond 2^31 - 1 blocks are refused, not wrapped.
std::string CheckLimits() {
  const Axis big_pad{4, 3, 1, 1, tf_custom_op::gpu::kMaxDim + 2, 1};
  const Axis plain{4, 3, 1, 1, 1, 4};
  PhasePlan plan;
  if (MakePhasePlan(MakeParams(1, big_pad, plain), &plan)) {
    return "MakePhasePlan accepted an offset of 2^29";
  }
  if (!MakePhasePlan(MakeParams(1, plain, plain), &plan)) return "small plan refused";
  plan.phases[0].m = int64_t{1} << 40;
  PhaseTable table{};
  if (FillPhaseTable(plan, 0, 128, &table) != -1) return "2^33 blocks accepted";
  return "";
}

}  // namespace

int main() {
  int passed = 0, failed = 0;
  auto report = [&](const std::string& what, const std::string& err) {
    if (err.empty()) {
      ++passed;
    } else {
      ++failed;
      if (failed <= 40) std::printf("FAIL %s: %s\n", what.c_str(), err.c_str());
    }
  };
  const std::vector<Axis> axes = AxisConfigs();
  // Every axis configuration as rows, each against a few as columns (a
  // fixed, spread-out choice), so both axes see every configuration.
  const size_t n = axes.size();
  for (size_t k = 0; k < n; ++k) {
    for (size_t step : {size_t{1}, size_t{7919}, size_t{104729}}) {
      const Axis& ra = axes[k];
      const Axis& ca = axes[(k * step + step / 2) % n];
      const std::string what = Describe(ra, ca);
      std::string err = CheckPlan(ra, ca);
      if (err.empty()) {
        PhasePlan plan;
        MakePhasePlan(MakeParams(3, ra, ca), &plan);
        for (int64_t bm : {64, 128}) {
          err = CheckTables(plan, bm);
          if (!err.empty()) break;
        }
      }
      report(what, err);
    }
  }
  // Many phases (more than one launch's table): strides 6 x 7.
  for (int64_t bm : {1, 64}) {
    const Axis r{20, 5, 6, 2, 3, 4}, c{23, 4, 7, 1, 2, 4};
    PhasePlan plan;
    const bool made = MakePhasePlan(MakeParams(3, r, c), &plan);
    report("42 phases, bm " + std::to_string(bm),
           !made ? "refused" : plan.phases.size() != 42 ? "not 42 phases" : CheckTables(plan, bm));
  }
  report("limits", CheckLimits());
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
