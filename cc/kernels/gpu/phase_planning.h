// Host-side planning of the CUDA kernel's launches: the problem's
// stride_rows * stride_cols phases with their taps in the kernels' PhaseDesc
// format (MakePhasePlan), and their packing into the per-launch phase tables
// with each phase's first thread block (FillPhaseTable).
//
// Free of CUDA (plain C++ on top of kernel_args.h and the per-axis plan of
// cc/kernels/phase_plan.h), so tests/gpu_emulation/phase_planning_test.cc
// checks it with plain g++ against a brute-force enumeration of the taps.
#ifndef TF_CUSTOM_OP_CC_KERNELS_GPU_PHASE_PLANNING_H_
#define TF_CUSTOM_OP_CC_KERNELS_GPU_PHASE_PLANNING_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cc/kernels/conv_params.h"
#include "cc/kernels/gpu/kernel_args.h"
#include "cc/kernels/phase_plan.h"

namespace tf_custom_op {
namespace gpu {

// The phases of the problem with their taps, in the kernel's table format.
// Tap t of a phase is filter row r0 + t * row_tap_step and reads dy row
// i + row_off0 - t * row_off_step (columns alike): the kernels walk the taps
// with these increments only.
struct PhasePlan {
  std::vector<PhaseDesc> phases;  // tile_begin unset
  int32_t row_off_step = 0, col_off_step = 0;
  int32_t row_tap_step = 0, col_tap_step = 0;  // filter index between taps
};

inline int64_t Gcd(int64_t a, int64_t b) {
  while (b != 0) {
    const int64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

// Returns false when an offset does not fit the kernel's 32-bit arithmetic.
inline bool MakePhasePlan(const ConvProblem& p, PhasePlan* out) {
  const AxisPlan rows = RowPlanOf(p);
  const AxisPlan cols = ColPlanOf(p);
  // Consecutive taps of a phase are stride/gcd(stride, dilation) filter
  // indices apart, and their dy offsets dilation/gcd apart.
  const int64_t gr = Gcd(p.stride_rows, p.dilation_rows);
  const int64_t gc = Gcd(p.stride_cols, p.dilation_cols);
  out->row_tap_step = static_cast<int32_t>(p.stride_rows / gr);
  out->col_tap_step = static_cast<int32_t>(p.stride_cols / gc);
  out->row_off_step = static_cast<int32_t>(p.dilation_rows / gr);
  out->col_off_step = static_cast<int32_t>(p.dilation_cols / gc);
  const auto fits = [](int64_t v) { return v > -kMaxDim && v < kMaxDim; };
  for (const AxisTap& t : rows.taps) {
    if (!fits(t.offset)) return false;
  }
  for (const AxisTap& t : cols.taps) {
    if (!fits(t.offset)) return false;
  }
  out->phases.clear();
  for (size_t a = 0; a < rows.phases.size(); ++a) {
    const AxisPhase& ra = rows.phases[a];
    for (size_t b = 0; b < cols.phases.size(); ++b) {
      const AxisPhase& cb = cols.phases[b];
      PhaseDesc d{};
      d.a = static_cast<int32_t>(a);
      d.b = static_cast<int32_t>(b);
      d.rows = static_cast<int32_t>(ra.count);
      d.cols = static_cast<int32_t>(cb.count);
      d.row_taps = static_cast<int32_t>(ra.num_taps);
      d.col_taps = static_cast<int32_t>(cb.num_taps);
      if (ra.num_taps > 0) {
        const AxisTap& t = rows.taps[static_cast<size_t>(ra.first_tap_slot)];
        d.r0 = static_cast<int32_t>(t.tap);
        d.row_off0 = static_cast<int32_t>(t.offset);
      }
      if (cb.num_taps > 0) {
        const AxisTap& t = cols.taps[static_cast<size_t>(cb.first_tap_slot)];
        d.s0 = static_cast<int32_t>(t.tap);
        d.col_off0 = static_cast<int32_t>(t.offset);
      }
      if (d.row_taps == 0 || d.col_taps == 0) d.row_taps = d.col_taps = 0;
      d.m = p.batch * ra.count * cb.count;
      out->phases.push_back(d);
    }
  }
  return true;
}

// One launch covers at most kMaxPhasesPerLaunch phases. Fills `table` with
// the phases of `plan` from `first` on, each with its first block
// (tile_begin): a phase of m rows takes ceil(m / bm) consecutive blocks
// along x, and PhaseOfBlock (kernel_args.h) maps a block back to its phase.
// Returns the launch's number of blocks along x, or -1 when that exceeds
// INT32_MAX (the kernels' block index is 32-bit).
inline int64_t FillPhaseTable(const PhasePlan& plan, size_t first, int64_t bm,
                              PhaseTable* table) {
  const size_t count = std::min<size_t>(kMaxPhasesPerLaunch,
                                        plan.phases.size() - first);
  table->count = static_cast<int32_t>(count);
  int64_t tiles = 0;
  for (size_t q = 0; q < count; ++q) {
    PhaseDesc d = plan.phases[first + q];
    d.tile_begin = static_cast<int32_t>(tiles);
    table->phase[q] = d;
    tiles += (d.m + bm - 1) / bm;
    if (tiles > INT32_MAX) return -1;
  }
  return tiles;
}

}  // namespace gpu
}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_GPU_PHASE_PLANNING_H_
