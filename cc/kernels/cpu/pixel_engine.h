// The pixel-vector engine: the CPU plan for grouped layers with few channels
// per group (ResNeXt's 32 groups of 8, depthwise-like layers).
//
// The gather engine (gather_engine.h) puts channels in vector lanes; with 8
// channels per group it uses 8 of 16 AVX-512 lanes and rebuilds a tile's
// indirection for every group (ResNeXt 3x3 on 56x56 maps ran at a quarter of
// TF's oneDNN speed per core). Here lanes hold pixels instead: each dy row a
// dx row needs is transposed once to [k][column] with zero margins, so every
// tap of a phase row is a dense, shifted run of columns; the tiles of
// pixel_tile.h load it one vector per k and broadcast the weights. Taps
// outside dy in the row direction are left out (ValidTapRange); in the
// column direction they read the zero margins, so a filter holding Inf or
// NaN must go to the gather engine instead (PackFilter says so), which
// skips them as TensorFlow does.
//
// Float only (dy rows and dx rows through RowIO<float>, so half, bfloat16
// widened to float and NCHW are served too). Free of TensorFlow headers.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_PIXEL_ENGINE_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_PIXEL_ENGINE_H_

#include <cstdint>
#include <vector>

#include "cc/kernels/conv_params.h"
#include "cc/kernels/cpu/float_transpose.h"
#include "cc/kernels/cpu/pixel_tile.h"
#include "cc/kernels/cpu/row_io.h"
#include "cc/kernels/phase_plan.h"

namespace tf_custom_op {

// Bytes of transposed dy rows a thread may hold (PixelEngine::Suits):
// within L2 with room to spare for the common shapes, and bounded for any.
constexpr int64_t kPixelRowCacheBytes = 16 << 20;

class PixelEngine {
 public:
  // Whether this plan suits the shape of `p`: more than one group, at most
  // kPixelMaxChannels channels per group (cheap: checked before building an
  // engine).
  static bool ShapeSuits(const ConvProblem& p);

  // `params` must describe a validated, non-empty problem (every size > 0).
  PixelEngine(const ConvProblem& params, const PixelKernel& kernel);

  // Repacks the HWIO filter [R, S, C_g, K] to [g][r][s][k][c]. Returns false
  // when it holds Inf or NaN: the caller must then use the gather engine.
  bool PackFilter(const float* filter_hwio);

  // Work units are dx rows, numbered n * H + h, as the gather engine's.
  int64_t NumRowUnits() const { return params_.batch * params_.in_rows; }
  double MacsPerRowUnit() const;
  // Rows a call should span so that the dy rows each call transposes anew
  // (the halo shared with the neighbouring call) stay a small part.
  int64_t MinRowsPerCall() const;

  // Writes dx rows [begin, end) exactly once. Thread-safe: all scratch is
  // local to the call.
  void ComputeRows(const RowIO<float>& io, int64_t begin, int64_t end) const;

  const PixelKernel& kernel() const { return kernel_; }

  // Whether the transposed dy rows a call keeps fit kPixelRowCacheBytes (a
  // plan for ShapeSuits problems only where they do).
  bool RowsFitCache() const;

 private:
  struct Scratch;
  // dy row (n, p) as [k][left + column], from the call's direct-mapped cache.
  const float* TransposedRow(const RowIO<float>& io, int64_t n, int64_t p,
                             Scratch* scratch) const;
  void ComputeRow(const RowIO<float>& io, int64_t n, int64_t h, float* dx,
                  Scratch* scratch) const;
  // One column phase of one dx row, every group.
  void ComputeColumnPhase(int64_t b, int64_t taps, float* dx, Scratch* scratch) const;

  ConvProblem params_;
  const PixelKernel& kernel_;
  FloatTransposeFn transpose_;  // dy rows in, tiles out
  AxisPlan row_plan_;
  AxisPlan col_plan_;
  std::vector<float> packed_;  // [g][r][s][k][c]
  int64_t left_ = 0;           // zero columns before column 0 of a transposed row
  int64_t row_stride_ = 0;     // columns of a transposed row (the k stride)
  int64_t slots_ = 1;          // transposed rows a call keeps
};

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_PIXEL_ENGINE_H_
