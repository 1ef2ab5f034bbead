// Filter packing of the CPU engine: the HWIO filter [R, S, C_g, K] rearranged,
// once per call, into the panels a micro-kernel reads contiguously.
//
// Layout: per group, per (row phase, column phase), per block of NR channels,
// per tap of the phase (row taps outer, column taps inner), per step of
// k_pack consecutive k, NR channels, each with its k_pack values side by side
// (zero-padded past C_g and past K_g). k_pack is 1 for float and double
// kernels and 2 for the bfloat16 pair kernels. A tile of one phase and one
// channel block then reads its weights as one contiguous run of
// taps x PaddedDepth(K_g) x NR values; PackedIndex says where each one is.
//
// Knows nothing about dy, dx or threads; reusable by any convolution whose
// reduction runs over (taps of a phase) x K with NR-wide channel blocks.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_FILTER_PACKING_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_FILTER_PACKING_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "cc/kernels/cpu/buffer_pool.h"
#include "cc/kernels/cpu/element_types.h"
#include "cc/kernels/phase_plan.h"

namespace tf_custom_op {

// K_g rounded up to whole steps of k_pack.
inline int64_t PaddedDepth(int64_t depth, int k_pack) {
  return (depth + k_pack - 1) / k_pack * k_pack;
}

// Where the weight of (tap t of the run, k, channel n of the block) lies in
// a run of packed weights of a kernel with width `nr` and `k_pack`.
inline int64_t PackedIndex(int64_t t, int64_t k, int64_t n, int64_t depth, int64_t nr,
                           int k_pack) {
  return t * PaddedDepth(depth, k_pack) * nr + (k / k_pack * nr + n) * k_pack + k % k_pack;
}

// The filter's dimensions as the packing sees them.
struct FilterDims {
  int64_t rows, cols;       // R, S
  int64_t depth;            // C_g: input channels per group
  int64_t groups;           // G
  int64_t depth_out;        // K_g: output channels per group (K = G * K_g)
};

template <typename Elem>
class PackedFilter {
 public:
  // `row_plan`/`col_plan` say which taps land on which phase; `nr` and
  // `k_pack` are the micro-kernel's. The plans must outlive this object.
  PackedFilter(const FilterDims& dims, const AxisPlan& row_plan,
               const AxisPlan& col_plan, int64_t nr, int k_pack);

  // Repacks `filter_hwio`; also notes whether every value is finite.
  void Pack(const Elem* filter_hwio);
  // The same in parts (group, row phase, column phase, channel block) that
  // threads may pack at once: PackParts(filter, b, e) for disjoint ranges
  // covering [0, NumParts()), each returning whether the weights it packed
  // are finite, then set_finite(the AND of those).
  int64_t NumParts() const {
    return dims_.groups * static_cast<int64_t>(panel_offsets_.size()) * channel_blocks_;
  }
  // Packed elements of the largest part (for sizing shards).
  int64_t PartElements() const;
  bool PackParts(const Elem* filter_hwio, int64_t begin, int64_t end);
  void set_finite(bool finite) { finite_ = finite; }

  // The weights of (group, row phase, column phase, channel block), starting
  // at the phase's row tap `first_row_tap`: taps x PaddedDepth(K_g) x NR.
  const Elem* Weights(int64_t group, int64_t row_phase, int64_t col_phase,
                      int64_t channel_block, int64_t first_row_tap) const;

  // Elements of one tap's weights in a run: PaddedDepth(K_g) x NR.
  int64_t TapElements() const { return padded_depth_ * nr_; }
  // Elements from one row tap's weights to the next one's (its column taps
  // of the phase lie between): the run stride of a micro-kernel whose taps
  // go in runs of column taps (micro_kernel.h).
  int64_t RowTapStride(int64_t col_phase) const {
    return col_plan_.phases[col_phase].num_taps * TapElements();
  }
  // Elements from one channel block's run to the next one's in a phase's
  // panel, so that callers step through blocks without calling Weights().
  int64_t BlockStride(int64_t row_phase, int64_t col_phase) const {
    return row_plan_.phases[row_phase].num_taps * RowTapStride(col_phase);
  }

  int64_t channel_blocks() const { return channel_blocks_; }
  // Bytes of the largest run Weights() can return: one channel block of the
  // phase with the most taps.
  int64_t MaxBlockRunBytes() const { return max_block_run_bytes_; }
  // False when the filter holds Inf or NaN (see GatherEngine's tile that
  // skips taps outside dy).
  bool finite() const { return finite_; }
  int64_t bytes() const { return packed_size_ * static_cast<int64_t>(sizeof(Elem)); }

 private:
  int64_t PanelOffset(int64_t row_phase, int64_t col_phase) const {
    return panel_offsets_[row_phase * col_plan_.phases.size() + col_phase];
  }

  FilterDims dims_;
  const AxisPlan& row_plan_;
  const AxisPlan& col_plan_;
  int64_t nr_;
  int k_pack_;
  int64_t padded_depth_;    // PaddedDepth(K_g, k_pack)
  int64_t channel_blocks_;  // ceil(C_g / NR)
  int64_t group_stride_;    // packed elements per group
  int64_t max_block_run_bytes_ = 0;
  std::vector<int64_t> panel_offsets_;
  // Allocated once, uninitialized (every element is written by the part
  // that owns it), so that parts can be packed by several threads at once;
  // from the buffers kept between calls (buffer_pool.h).
  int64_t packed_size_ = 0;
  PooledBuffer storage_;
  Elem* packed_ = nullptr;
  bool finite_ = true;
};

#define TFCO_DECLARE_PACKING(Acc, Elem) extern template class PackedFilter<Elem>;
TF_CUSTOM_OP_ENGINE_TYPES(TFCO_DECLARE_PACKING)
#undef TFCO_DECLARE_PACKING

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_FILTER_PACKING_H_
