// One convolution for the TF-free testers and tools, described as the forward
// convolution's shapes: x (= dx) [n, h, w, c], filter [r, s, c / groups, k],
// strides, dilations and padding. The one case type of the C++ testers
// (tests/cpu_engine/kernel_test.cc, tests/gpu_emulation/emulation_test.cc)
// and of tools/cpu_engine_bench.cc; ProblemOf resolves it into the engines'
// ConvProblem with the op's own window arithmetic (axis_window.h).
#ifndef TF_CUSTOM_OP_TESTS_NATIVE_COMMON_CONV_CASE_H_
#define TF_CUSTOM_OP_TESTS_NATIVE_COMMON_CONV_CASE_H_

#include <cstdint>

#include "cc/kernels/axis_window.h"
#include "cc/kernels/conv_params.h"

namespace tf_custom_op {
namespace testing {

struct ConvCase {
  int64_t n, h, w, c;      // x
  int64_t r, s;            // filter rows and columns
  int64_t groups, k;       // groups, output channels (all groups)
  int64_t sh, sw, dh, dw;  // strides, dilations
  PaddingKind padding;
  int64_t pt = 0, pb = 0, pl = 0, pr = 0;  // explicit padding
};

// The problem of `t`, or false when its windows are invalid.
inline bool ProblemOf(const ConvCase& t, ConvProblem* out) {
  ConvProblem p{};
  p.batch = t.n;
  p.in_rows = t.h;
  p.in_cols = t.w;
  p.in_depth = t.c;
  p.filter_rows = t.r;
  p.filter_cols = t.s;
  p.groups = t.groups;
  p.filter_depth = t.c / t.groups;
  p.out_depth = t.k;
  p.out_depth_per_group = t.k / t.groups;
  p.stride_rows = t.sh;
  p.stride_cols = t.sw;
  p.dilation_rows = t.dh;
  p.dilation_cols = t.dw;
  const int64_t pads[4] = {t.pt, t.pb, t.pl, t.pr};
  if (!ResolveProblemWindows(&p, t.padding, pads)) return false;
  *out = p;
  return true;
}

}  // namespace testing
}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_TESTS_NATIVE_COMMON_CONV_CASE_H_
