// Where the engine reads dy rows and writes dx rows.
//
// The engine reads NHWC rows of its element type and computes in its
// accumulation type. A RowIO hands it each dy row (n, p) as [Q][K] Elem
// values and takes each finished dx row (n, h) as [W][C] Acc values. NHWC
// tensors of the element type are read in place (float, double, int32, and
// bfloat16 for the bfloat16 kernels); other dtypes and NCHW are converted one
// row at a time into per-thread buffers, so no temporary ever has the size of
// a whole tensor.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_ROW_IO_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_ROW_IO_H_

#include <cstdint>

namespace tf_custom_op {

template <typename Acc, typename Elem = Acc>
class RowIO {
 public:
  virtual ~RowIO() = default;

  // True when DyRow never needs the staging buffer.
  virtual bool DyRowsInPlace() const = 0;
  // dy row (n, p): a pointer into dy itself, or `stage` (Q*K elements) after
  // filling it.
  virtual const Elem* DyRow(int64_t n, int64_t p, Elem* stage) const = 0;

  // Destination of dx row (n, h) when the engine may write it in place, or
  // nullptr: then the engine computes into a scratch row and calls StoreDxRow.
  virtual Acc* DxRowInPlace(int64_t n, int64_t h) const = 0;
  // Both dy and dx in place (for whole tensors: RowIO decides by dtype and
  // layout): what a part of the channels, or tiles across images, need.
  bool RowsInPlace() const { return DyRowsInPlace() && DxRowInPlace(0, 0) != nullptr; }
  virtual void StoreDxRow(int64_t n, int64_t h, const Acc* row) const = 0;
};

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_ROW_IO_H_
