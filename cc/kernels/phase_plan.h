// Sub-pixel (phase) decomposition of one spatial axis.
//
// Writing a dx coordinate as h = a + stride * i (phase a in [0, stride)), a
// filter tap r touches phase a only when (a + pad - r * dilation) is a multiple
// of the stride, and then reads dy at p = i + offset with a constant offset.
// Each phase is therefore a dense stride-1 correlation over its own taps: no
// division and no multiplication by inserted zeros in any inner loop.
#ifndef TF_CUSTOM_OP_CC_KERNELS_PHASE_PLAN_H_
#define TF_CUSTOM_OP_CC_KERNELS_PHASE_PLAN_H_

#include <algorithm>
#include <cstdint>
#include <vector>

#include "cc/kernels/conv_params.h"

namespace tf_custom_op {

struct AxisTap {
  int64_t tap;     // filter index along this axis (r or s)
  int64_t offset;  // dy index = phase-local dx index + offset
};

struct AxisPhase {
  int64_t count = 0;          // dx positions in this phase: a, a+stride, ...
  int64_t first_tap_slot = 0; // index of this phase's first tap in AxisPlan::taps
  int64_t num_taps = 0;
};

// Taps of one phase are stored with decreasing offset (increasing tap index),
// so the taps that stay inside dy for a given position form one contiguous run
// (as they do in the reverse order: WithIncreasingOffsets).
struct AxisPlan {
  int64_t stride = 1;
  std::vector<AxisPhase> phases;  // min(stride, size) phases
  std::vector<AxisTap> taps;      // each tap appears in exactly one phase

  // Contiguous run [*begin, *end) of phase-local tap slots whose dy index
  // i + offset lies in [0, dy_size) (offsets are monotone within a phase,
  // decreasing or, after WithIncreasingOffsets, increasing).
  void ValidTapRange(const AxisPhase& phase, int64_t i, int64_t dy_size,
                     int64_t* begin, int64_t* end) const {
    int64_t b = 0, e = phase.num_taps;
    const AxisTap* t = taps.data() + phase.first_tap_slot;
    const auto inside = [&](const AxisTap& tap) {
      return tap.offset + i >= 0 && tap.offset + i < dy_size;
    };
    while (b < e && !inside(t[b])) ++b;
    while (e > b && !inside(t[e - 1])) --e;
    *begin = b;
    *end = e;
  }
  // Whether the phase's taps read consecutive dy positions in slot order
  // (offsets o, o + 1, o + 2, ...): an undilated phase after
  // WithIncreasingOffsets. A position's taps then read one contiguous run
  // of dy, which the CPU engine treats as a single longer tap.
  bool ReadsConsecutive(const AxisPhase& phase) const {
    const AxisTap* t = taps.data() + phase.first_tap_slot;
    for (int64_t k = 1; k < phase.num_taps; ++k) {
      if (t[k].offset != t[k - 1].offset + 1) return false;
    }
    return true;
  }
};

// The same plan with each phase's taps in increasing offset order (tap
// index decreasing), so that consecutive slots read consecutive dy
// positions in memory order.
inline AxisPlan WithIncreasingOffsets(AxisPlan plan) {
  for (const AxisPhase& phase : plan.phases) {
    std::reverse(plan.taps.begin() + phase.first_tap_slot,
                 plan.taps.begin() + phase.first_tap_slot + phase.num_taps);
  }
  return plan;
}

// Floor division for possibly negative numerators (positive divisor).
inline int64_t FloorDiv(int64_t num, int64_t den) {
  int64_t q = num / den;
  if ((num % den != 0) && ((num < 0) != (den < 0))) --q;
  return q;
}

inline AxisPlan MakeAxisPlan(int64_t size, int64_t filter, int64_t stride,
                             int64_t dilation, int64_t pad_before) {
  AxisPlan plan;
  plan.stride = stride;
  const int64_t num_phases = std::min(stride, size);
  plan.phases.resize(static_cast<size_t>(std::max<int64_t>(num_phases, 0)));
  for (int64_t a = 0; a < num_phases; ++a) {
    AxisPhase& phase = plan.phases[static_cast<size_t>(a)];
    phase.count = (size - a + stride - 1) / stride;
    phase.first_tap_slot = static_cast<int64_t>(plan.taps.size());
    for (int64_t r = 0; r < filter; ++r) {
      const int64_t shifted = a + pad_before - r * dilation;
      const int64_t offset = FloorDiv(shifted, stride);
      if (offset * stride != shifted) continue;
      plan.taps.push_back(AxisTap{r, offset});
    }
    phase.num_taps =
        static_cast<int64_t>(plan.taps.size()) - phase.first_tap_slot;
  }
  return plan;
}

// The plans of a problem's two axes (dx rows and columns).
inline AxisPlan RowPlanOf(const ConvProblem& p) {
  return MakeAxisPlan(p.in_rows, p.filter_rows, p.stride_rows, p.dilation_rows, p.pad_top);
}
inline AxisPlan ColPlanOf(const ConvProblem& p) {
  return MakeAxisPlan(p.in_cols, p.filter_cols, p.stride_cols, p.dilation_cols, p.pad_left);
}

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_PHASE_PLAN_H_
