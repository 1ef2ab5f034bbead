// Where the engine reads dy rows and writes dx rows.
//
// The engine computes in the accumulation type on NHWC rows. A RowIO hands it
// each dy row (n, p) as [Q][K] Acc values and takes each finished dx row
// (n, h) as [W][C] Acc values. Float NHWC tensors are used in place; other
// dtypes and NCHW are converted one row at a time into per-thread buffers,
// so no temporary ever has the size of a whole tensor.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_ROW_IO_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_ROW_IO_H_

#include <cstdint>

namespace tf_custom_op {

template <typename Acc>
class RowIO {
 public:
  virtual ~RowIO() = default;

  // True when DyRow never needs the staging buffer.
  virtual bool DyRowsInPlace() const = 0;
  // dy row (n, p): a pointer into dy itself, or `stage` (Q*K elements) after
  // filling it.
  virtual const Acc* DyRow(int64_t n, int64_t p, Acc* stage) const = 0;

  // Destination of dx row (n, h) when the engine may write it in place, or
  // nullptr: then the engine computes into a scratch row and calls StoreDxRow.
  virtual Acc* DxRowInPlace(int64_t n, int64_t h) const = 0;
  virtual void StoreDxRow(int64_t n, int64_t h, const Acc* row) const = 0;
};

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_ROW_IO_H_
