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

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_AXIS_WINDOW_H_
