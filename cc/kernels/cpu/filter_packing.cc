#include "cc/kernels/cpu/filter_packing.h"

#include <algorithm>
#include <type_traits>

#include "cc/kernels/cpu/float_transpose.h"

namespace tf_custom_op {

template <typename Elem>
PackedFilter<Elem>::PackedFilter(const FilterDims& dims, const AxisPlan& row_plan,
                                 const AxisPlan& col_plan, int64_t nr, int k_pack)
    : dims_(dims),
      row_plan_(row_plan),
      col_plan_(col_plan),
      nr_(nr),
      k_pack_(k_pack),
      padded_depth_(PaddedDepth(dims.depth_out, k_pack)) {
  channel_blocks_ = (dims_.depth + nr_ - 1) / nr_;
  const int64_t per_tap = channel_blocks_ * TapElements();
  int64_t offset = 0;
  for (const AxisPhase& rp : row_plan_.phases) {
    for (const AxisPhase& cp : col_plan_.phases) {
      panel_offsets_.push_back(offset);
      offset += rp.num_taps * cp.num_taps * per_tap;
      max_block_run_bytes_ = std::max<int64_t>(
          max_block_run_bytes_, rp.num_taps * cp.num_taps * TapElements() *
                                    static_cast<int64_t>(sizeof(Elem)));
    }
  }
  group_stride_ = offset;
  packed_size_ = group_stride_ * dims_.groups;
  static_assert(std::is_trivially_copyable<Elem>::value, "packed elements are raw memory");
  storage_ = PooledBuffer(static_cast<size_t>(packed_size_) * sizeof(Elem));
  packed_ = static_cast<Elem*>(storage_.data());
}

template <typename Elem>
void PackedFilter<Elem>::Pack(const Elem* filter_hwio) {
  set_finite(PackParts(filter_hwio, 0, NumParts()));
}

template <typename Elem>
int64_t PackedFilter<Elem>::PartElements() const {
  return max_block_run_bytes_ / static_cast<int64_t>(sizeof(Elem));
}

template <typename Elem>
bool PackedFilter<Elem>::PackParts(const Elem* filter_hwio, int64_t begin, int64_t end) {
  const int64_t cg = dims_.depth, kg = dims_.depth_out;
  const int64_t k_total = dims_.groups * kg;
  const int64_t phases = static_cast<int64_t>(panel_offsets_.size());
  const int64_t col_phases = static_cast<int64_t>(col_plan_.phases.size());
  // Counted with no early exit, so that the loops vectorize.
  int64_t non_finite = 0;
  for (int64_t part = begin; part < end; ++part) {
    const int64_t cb = part % channel_blocks_;
    const int64_t phase = (part / channel_blocks_) % phases;
    const int64_t g = part / (channel_blocks_ * phases);
    const AxisPhase& rp = row_plan_.phases[phase / col_phases];
    const AxisPhase& cp = col_plan_.phases[phase % col_phases];
    const int64_t run = TapElements();
    // The part's run, written front to back in PackedIndex's order (tap,
    // step of k_pack k, channel, k within the step), so `out` only ever
    // advances: no index arithmetic per element, and the padding past C_g
    // and K_g is written as zeros on the way.
    Elem* out = packed_ + g * group_stride_ + panel_offsets_[phase] +
                cb * rp.num_taps * cp.num_taps * run;
    const int64_t c_end = std::min(nr_, cg - cb * nr_);
    for (int64_t rt = 0; rt < rp.num_taps; ++rt) {
      const int64_t r = row_plan_.taps[rp.first_tap_slot + rt].tap;
      for (int64_t ct = 0; ct < cp.num_taps; ++ct) {
        const int64_t s = col_plan_.taps[cp.first_tap_slot + ct].tap;
        // filter[r][s][cb * NR + l][g * K_g + k] is at tap[l * k_total + k].
        const Elem* tap = filter_hwio + ((r * dims_.cols + s) * cg + cb * nr_) * k_total + g * kg;
        for (int64_t l = 0; l < c_end; ++l) {
          const Elem* src = tap + l * k_total;
          for (int64_t k = 0; k < kg; ++k) non_finite += !IsFiniteElement(src[k]);
        }
        if (k_pack_ == 1) {
          // A transpose of [channel][k] into [k][channel].
          if (c_end < nr_) std::fill(out, out + run, Elem{});
          if constexpr (std::is_same<Elem, float>::value) {
            // In vector blocks: element by element, every store of the
            // strided side is a separate cache line, and packing a 33 MB
            // filter (pix2pix_d_512) took two thirds of the layer's time.
            SelectFloatTranspose()(tap, k_total, c_end, kg, out, nr_);
          } else {
            for (int64_t l = 0; l < c_end; ++l) {
              const Elem* src = tap + l * k_total;
              for (int64_t k = 0; k < kg; ++k) out[k * nr_ + l] = src[k];
            }
          }
          out += run;
          continue;
        }
        for (int64_t k0 = 0; k0 < padded_depth_; k0 += k_pack_) {
          for (int64_t l = 0; l < nr_; ++l) {
            for (int j = 0; j < k_pack_; ++j, ++out) {
              const int64_t k = k0 + j;
              *out = (l < c_end && k < kg) ? tap[l * k_total + k] : Elem{};
            }
          }
        }
      }
    }
  }
  return non_finite == 0;
}

template <typename Elem>
const Elem* PackedFilter<Elem>::Weights(int64_t group, int64_t row_phase,
                                        int64_t col_phase, int64_t channel_block,
                                        int64_t first_row_tap) const {
  const Elem* panel = packed_ + group * group_stride_ + PanelOffset(row_phase, col_phase);
  return panel + channel_block * BlockStride(row_phase, col_phase) +
         first_row_tap * RowTapStride(col_phase);
}

#define TFCO_INSTANTIATE_PACKING(Acc, Elem) template class PackedFilter<Elem>;
TF_CUSTOM_OP_ENGINE_TYPES(TFCO_INSTANTIATE_PACKING)
#undef TFCO_INSTANTIATE_PACKING

}  // namespace tf_custom_op
