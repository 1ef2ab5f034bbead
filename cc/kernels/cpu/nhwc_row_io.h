// A RowIO over NHWC tensors, dy of the element type and dx of the
// accumulation type, read and written in place (no conversion, no staging). For the engine's own programs (tester,
// benchmark); the TF kernel's RowIO (cpu_kernel.cc) also converts dtypes and
// layouts.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_NHWC_ROW_IO_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_NHWC_ROW_IO_H_

#include <cstdint>

#include "cc/kernels/conv_params.h"
#include "cc/kernels/cpu/row_io.h"

namespace tf_custom_op {

template <typename Acc, typename Elem = Acc>
class InPlaceNhwcIO final : public RowIO<Acc, Elem> {
 public:
  InPlaceNhwcIO(const ConvProblem& p, const Elem* dy, Acc* dx) : p_(p), dy_(dy), dx_(dx) {}
  bool DyRowsInPlace() const override { return true; }
  const Elem* DyRow(int64_t n, int64_t row, Elem*) const override {
    return dy_ + (n * p_.out_rows + row) * p_.out_cols * p_.out_depth;
  }
  Acc* DxRowInPlace(int64_t n, int64_t h) const override {
    return dx_ + (n * p_.in_rows + h) * p_.in_cols * p_.in_depth;
  }
  void StoreDxRow(int64_t, int64_t, const Acc*) const override {}

 private:
  const ConvProblem& p_;
  const Elem* dy_;
  Acc* dx_;
};

// The same tensors through the staging path: every dy row copied into the
// caller's stage, every dx row handed to StoreDxRow (what the op does for
// half, bfloat16 and NCHW), so the tester runs the engines' other branch.
template <typename Acc, typename Elem = Acc>
class StagedNhwcIO final : public RowIO<Acc, Elem> {
 public:
  StagedNhwcIO(const ConvProblem& p, const Elem* dy, Acc* dx) : p_(p), dy_(dy), dx_(dx) {}
  bool DyRowsInPlace() const override { return false; }
  const Elem* DyRow(int64_t n, int64_t row, Elem* stage) const override {
    const int64_t elements = p_.out_cols * p_.out_depth;
    const Elem* src = dy_ + (n * p_.out_rows + row) * elements;
    for (int64_t e = 0; e < elements; ++e) stage[e] = src[e];
    return stage;
  }
  Acc* DxRowInPlace(int64_t, int64_t) const override { return nullptr; }
  void StoreDxRow(int64_t n, int64_t h, const Acc* values) const override {
    const int64_t elements = p_.in_cols * p_.in_depth;
    Acc* dst = dx_ + (n * p_.in_rows + h) * elements;
    for (int64_t e = 0; e < elements; ++e) dst[e] = values[e];
  }

 private:
  const ConvProblem& p_;
  const Elem* dy_;
  Acc* dx_;
};

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_NHWC_ROW_IO_H_
