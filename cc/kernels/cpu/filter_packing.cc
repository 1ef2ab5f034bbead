#include "cc/kernels/cpu/filter_packing.h"

#include <algorithm>

namespace tf_custom_op {

template <typename Acc>
PackedFilter<Acc>::PackedFilter(const FilterDims& dims, const AxisPlan& row_plan,
                                const AxisPlan& col_plan, int64_t nr)
    : dims_(dims), row_plan_(row_plan), col_plan_(col_plan), nr_(nr) {
  channel_blocks_ = (dims_.depth + nr_ - 1) / nr_;
  const int64_t per_tap = channel_blocks_ * dims_.depth_out * nr_;
  int64_t offset = 0;
  for (const AxisPhase& rp : row_plan_.phases) {
    for (const AxisPhase& cp : col_plan_.phases) {
      panel_offsets_.push_back(offset);
      offset += rp.num_taps * cp.num_taps * per_tap;
    }
  }
  group_stride_ = offset;
}

template <typename Acc>
void PackedFilter<Acc>::Pack(const Acc* filter_hwio) {
  const int64_t cg = dims_.depth, kg = dims_.depth_out;
  const int64_t k_total = dims_.groups * kg;
  const int64_t elements = dims_.rows * dims_.cols * cg * k_total;
  finite_ = true;
  for (int64_t e = 0; e < elements; ++e) {
    // x - x is 0 for finite x and NaN for Inf or NaN (no <cmath> for int32).
    const Acc v = filter_hwio[e];
    finite_ = finite_ && (v - v == Acc(0));
  }
  packed_.assign(static_cast<size_t>(group_stride_ * dims_.groups), Acc(0));
  for (int64_t g = 0; g < dims_.groups; ++g) {
    for (size_t a = 0; a < row_plan_.phases.size(); ++a) {
      const AxisPhase& rp = row_plan_.phases[a];
      for (size_t b = 0; b < col_plan_.phases.size(); ++b) {
        const AxisPhase& cp = col_plan_.phases[b];
        const int64_t taps = rp.num_taps * cp.num_taps;
        Acc* panel = packed_.data() + g * group_stride_ + PanelOffset(a, b);
        for (int64_t cb = 0; cb < channel_blocks_; ++cb) {
          Acc* block = panel + cb * taps * kg * nr_;
          const int64_t c_end = std::min(nr_, cg - cb * nr_);
          for (int64_t rt = 0; rt < rp.num_taps; ++rt) {
            const int64_t r = row_plan_.taps[rp.first_tap_slot + rt].tap;
            for (int64_t ct = 0; ct < cp.num_taps; ++ct) {
              const int64_t s = col_plan_.taps[cp.first_tap_slot + ct].tap;
              Acc* dst = block + (rt * cp.num_taps + ct) * kg * nr_;
              for (int64_t k = 0; k < kg; ++k) {
                for (int64_t l = 0; l < c_end; ++l) {
                  const int64_t c = cb * nr_ + l;
                  dst[k * nr_ + l] =
                      filter_hwio[((r * dims_.cols + s) * cg + c) * k_total + g * kg + k];
                }
              }
            }
          }
        }
      }
    }
  }
}

template <typename Acc>
const Acc* PackedFilter<Acc>::Weights(int64_t group, int64_t row_phase,
                                      int64_t col_phase, int64_t channel_block,
                                      int64_t first_row_tap) const {
  const AxisPhase& rp = row_plan_.phases[row_phase];
  const AxisPhase& cp = col_plan_.phases[col_phase];
  const int64_t panel_taps = rp.num_taps * cp.num_taps;
  const Acc* panel = packed_.data() + group * group_stride_ + PanelOffset(row_phase, col_phase);
  return panel + (channel_block * panel_taps + first_row_tap * cp.num_taps) *
                     dims_.depth_out * nr_;
}

template class PackedFilter<float>;
template class PackedFilter<double>;
template class PackedFilter<int32_t>;

}  // namespace tf_custom_op
