// The convolution's geometry along one spatial axis (docs/CONTRACT.md
// section 2): out_backprop's size and the padding before and after, for SAME,
// VALID and EXPLICIT padding. The one statement of that arithmetic in C++,
// shared by the op's validation (in 128-bit), the CPU engine benchmark and
// the GPU emulation test; free of TensorFlow headers.
//
// Division truncates towards zero like C++ (and TensorFlow): VALID with
// in = 1, filter = 4, stride = 2 gives out = 0, not -1. A negative `out` is
// the caller's error to report.
#ifndef TF_CUSTOM_OP_CC_KERNELS_AXIS_WINDOW_H_
#define TF_CUSTOM_OP_CC_KERNELS_AXIS_WINDOW_H_

#include <cstdint>

#include "cc/kernels/conv_params.h"

namespace tf_custom_op {

enum class PaddingKind { kSame, kValid, kExplicit };

template <typename Int>
struct AxisWindow {
  Int out;     // out_backprop's size along the axis
  Int before;  // padding before (top or left)
  Int after;   // padding after (bottom or right)
  Int span;    // extent of the dilated filter: (filter - 1) * dilation + 1
};

// `explicit_before` and `explicit_after` are read only for kExplicit.
template <typename Int>
AxisWindow<Int> ResolveAxisWindow(PaddingKind padding, Int in, Int filter,
                                  Int stride, Int dilation,
                                  Int explicit_before = 0,
                                  Int explicit_after = 0) {
  AxisWindow<Int> w{0, 0, 0, (filter - 1) * dilation + 1};
  switch (padding) {
    case PaddingKind::kValid:
      w.out = (in - w.span + stride) / stride;
      break;
    case PaddingKind::kExplicit:
      w.before = explicit_before;
      w.after = explicit_after;
      w.out = (in + w.before + w.after - w.span + stride) / stride;
      break;
    case PaddingKind::kSame: {
      w.out = (in + stride - 1) / stride;
      Int need = (w.out - 1) * stride + w.span - in;
      if (need < 0) need = 0;
      w.before = need / 2;
      w.after = need - w.before;
      break;
    }
  }
  return w;
}

// Fills out_rows/out_cols and the four paddings of `p` from its input, filter,
// stride and dilation fields (tools and tests that build problems by hand;
// the op validates through conv_geometry.cc). `explicit_pads` is top, bottom,
// left, right, read only for kExplicit. Returns false when an output size is
// negative.
inline bool ResolveProblemWindows(ConvProblem* p, PaddingKind padding,
                                  const int64_t explicit_pads[4] = nullptr) {
  const int64_t none[4] = {0, 0, 0, 0};
  const int64_t* pads = explicit_pads ? explicit_pads : none;
  const auto rows = ResolveAxisWindow<int64_t>(padding, p->in_rows, p->filter_rows,
                                               p->stride_rows, p->dilation_rows, pads[0], pads[1]);
  const auto cols = ResolveAxisWindow<int64_t>(padding, p->in_cols, p->filter_cols,
                                               p->stride_cols, p->dilation_cols, pads[2], pads[3]);
  p->out_rows = rows.out;
  p->out_cols = cols.out;
  p->pad_top = rows.before;
  p->pad_bottom = rows.after;
  p->pad_left = cols.before;
  p->pad_right = cols.after;
  return rows.out >= 0 && cols.out >= 0;
}

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_AXIS_WINDOW_H_
