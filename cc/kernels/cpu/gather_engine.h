// The CPU engine: phase decomposition + per-call filter packing + per-tile
// indirection + register-tiled micro-kernels (see docs/DESIGN.md, sections 1-2).
//
// Works on NHWC tensors of the accumulation type (float, double or int32);
// the TF kernel converts other dtypes and layouts around it. Free of
// TensorFlow headers so that it can be tested and reused on its own.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_GATHER_ENGINE_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_GATHER_ENGINE_H_

#include <cstdint>
#include <vector>

#include "cc/kernels/conv_params.h"
#include "cc/kernels/cpu/micro_kernel.h"
#include "cc/kernels/cpu/row_io.h"
#include "cc/kernels/phase_plan.h"

namespace tf_custom_op {

template <typename Acc>
class GatherEngine {
 public:
  // `params` must describe a validated, non-empty problem (every size > 0).
  GatherEngine(const ConvBackpropInputParams& params,
               const MicroKernel<Acc>& kernel);

  // Repacks the HWIO filter [R, S, C_g, K] into per-phase panels read
  // contiguously by the micro-kernel. Must run before ComputeRows.
  void PackFilter(const Acc* filter_hwio);

  // The unit of parallel work is one dx row (n, h): units own disjoint dx.
  int64_t NumRowUnits() const { return params_.batch * params_.in_rows; }
  // Multiply-adds per row unit, for sizing shards.
  double MacsPerRowUnit() const;

  // Writes dx rows [begin, end) (unit = n * in_rows + h) exactly once.
  // Thread-safe: all scratch is local to the call.
  void ComputeRows(const RowIO<Acc>& io, int64_t begin, int64_t end) const;

  const MicroKernel<Acc>& kernel() const { return kernel_; }
  // Bytes of the packed filter (the engine's only sizeable allocation).
  int64_t PackedBytes() const {
    return static_cast<int64_t>(packed_.size() * sizeof(Acc));
  }

 private:
  // Offset of the (row phase, column phase) panel inside one group's block.
  int64_t PanelOffset(int64_t row_phase, int64_t col_phase) const {
    return panel_offsets_[row_phase * col_plan_.phases.size() + col_phase];
  }
  void ZeroPhaseColumns(Acc* dx_row, int64_t col_phase) const;
  // Scalar tile that skips taps outside dy instead of multiplying the zero
  // row: used only when the filter holds Inf or NaN, where 0 * w is NaN but
  // TensorFlow's result (which never reads outside dy) is not.
  void SkipZeroRowTile(int64_t taps, int64_t depth, const Acc* const* rows,
                       const Acc* packed, Acc* out, int64_t out_pixel_stride,
                       int m_valid, int n_valid) const;
  int64_t MaxRowTaps() const;

  ConvBackpropInputParams params_;
  MicroKernel<Acc> kernel_;
  AxisPlan row_plan_;
  AxisPlan col_plan_;
  int64_t channel_blocks_;  // ceil(C_g / NR)
  int64_t group_stride_;    // packed elements per group
  std::vector<int64_t> panel_offsets_;
  std::vector<Acc> packed_;
  std::vector<Acc> zero_row_;  // K_g zeros: the row read outside dy
  bool filter_finite_ = true;
};

extern template class GatherEngine<float>;
extern template class GatherEngine<double>;
extern template class GatherEngine<int32_t>;

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_GATHER_ENGINE_H_
