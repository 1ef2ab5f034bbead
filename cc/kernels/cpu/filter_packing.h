// Filter packing of the CPU engine: the HWIO filter [R, S, C_g, K] rearranged,
// once per call, into the panels a micro-kernel reads contiguously.
//
// Layout: per group, per (row phase, column phase), per block of NR channels,
// per tap of the phase (row taps outer, column taps inner), per k < K_g, NR
// channels (zero-padded past C_g). A tile of one phase and one channel block
// then reads its weights as one contiguous run of taps x K_g x NR values.
//
// Knows nothing about dy, dx or threads; reusable by any convolution whose
// reduction runs over (taps of a phase) x K with NR-wide channel blocks.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_FILTER_PACKING_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_FILTER_PACKING_H_

#include <cstdint>
#include <vector>

#include "cc/kernels/phase_plan.h"

namespace tf_custom_op {

// The filter's dimensions as the packing sees them.
struct FilterDims {
  int64_t rows, cols;       // R, S
  int64_t depth;            // C_g: input channels per group
  int64_t groups;           // G
  int64_t depth_out;        // K_g: output channels per group (K = G * K_g)
};

template <typename Acc>
class PackedFilter {
 public:
  // `row_plan`/`col_plan` say which taps land on which phase; `nr` is the
  // micro-kernel's channel width. They must outlive this object.
  PackedFilter(const FilterDims& dims, const AxisPlan& row_plan,
               const AxisPlan& col_plan, int64_t nr);

  // Repacks `filter_hwio`; also notes whether every value is finite.
  void Pack(const Acc* filter_hwio);

  // The weights of (group, row phase, column phase, channel block), starting
  // at the phase's row tap `first_row_tap`: taps x K_g x NR values.
  const Acc* Weights(int64_t group, int64_t row_phase, int64_t col_phase,
                     int64_t channel_block, int64_t first_row_tap) const;

  int64_t channel_blocks() const { return channel_blocks_; }
  // False when the filter holds Inf or NaN (see GatherEngine's tile that
  // skips taps outside dy).
  bool finite() const { return finite_; }
  int64_t bytes() const { return static_cast<int64_t>(packed_.size() * sizeof(Acc)); }

 private:
  int64_t PanelOffset(int64_t row_phase, int64_t col_phase) const {
    return panel_offsets_[row_phase * col_plan_.phases.size() + col_phase];
  }

  FilterDims dims_;
  const AxisPlan& row_plan_;
  const AxisPlan& col_plan_;
  int64_t nr_;
  int64_t channel_blocks_;  // ceil(C_g / NR)
  int64_t group_stride_;    // packed elements per group
  std::vector<int64_t> panel_offsets_;
  std::vector<Acc> packed_;
  bool finite_ = true;
};

extern template class PackedFilter<float>;
extern template class PackedFilter<double>;
extern template class PackedFilter<int32_t>;

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_FILTER_PACKING_H_
