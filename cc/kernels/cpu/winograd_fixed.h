// The Winograd matrices of the common tiles written out as constants, so
// that their transforms compile to straight-line code (winograd_tile.h,
// FixedTransform): no index loads, no loops, the zeros left out and the
// coefficients folded in. They are exactly what MakeAxisTransform builds
// for the same m and r (the tester compares them entry by entry); the
// generic sparse transform serves every other tile.
//
// Measured with `build/cpu_engine_bench 8 56 56 64 3 3 64 1 winograd`
// (1 thread, Intel Xeon, AVX-512): the generic transforms were 38% of the
// time, as much as the GEMMs.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_WINOGRAD_FIXED_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_WINOGRAD_FIXED_H_

#include "cc/kernels/cpu/winograd_transform.h"

namespace tf_custom_op {

struct WinogradFixedMatrix {
  int rows, inputs;
  float v[kMaxAlpha][kMaxAlpha];
};

// F(4, 3): BT (6 x 6) and AT (4 x 6).
constexpr WinogradFixedMatrix kWinogradBt43 = {6, 6, {{4, 0, -5, 0, 1, 0},
                                                      {0, -4, -4, 1, 1, 0},
                                                      {0, 4, -4, -1, 1, 0},
                                                      {0, -2, -1, 2, 1, 0},
                                                      {0, 2, -1, -2, 1, 0},
                                                      {0, 4, 0, -5, 0, 1}}};
constexpr WinogradFixedMatrix kWinogradAt43 = {4, 6, {{1, 1, 1, 1, 1, 0},
                                                      {0, 1, -1, 2, -2, 0},
                                                      {0, 1, 1, 4, 4, 0},
                                                      {0, 1, -1, 8, -8, 1}}};
// F(4, 2): BT (5 x 5) and AT (4 x 5).
constexpr WinogradFixedMatrix kWinogradBt42 = {5, 5, {{2, -1, -2, 1, 0},
                                                      {0, -2, -1, 1, 0},
                                                      {0, 2, -3, 1, 0},
                                                      {0, -1, 0, 1, 0},
                                                      {0, 2, -1, -2, 1}}};
constexpr WinogradFixedMatrix kWinogradAt42 = {4, 5, {{1, 1, 1, 1, 0},
                                                      {0, 1, -1, 2, 0},
                                                      {0, 1, 1, 4, 0},
                                                      {0, 1, -1, 8, 1}}};
// F(2, 3): BT (4 x 4) and AT (2 x 4).
constexpr WinogradFixedMatrix kWinogradBt23 = {4, 4, {{-1, 0, 1, 0},
                                                      {0, 1, 1, 0},
                                                      {0, -1, 1, 0},
                                                      {0, -1, 0, 1}}};
constexpr WinogradFixedMatrix kWinogradAt23 = {2, 4, {{1, 1, 1, 0}, {0, 1, -1, 1}}};

// The fixed transforms a tier provides (WinogradKernel::fixed), each the
// same matrix along both axes: the data or output transform of a phase
// with `taps` taps on both axes and tiles of `m`.
struct WinogradFixedKey {
  int m, taps;
  bool output;  // AT (else BT)
  const WinogradFixedMatrix* matrix;
};
constexpr WinogradFixedKey kWinogradFixedKeys[] = {
    {4, 3, false, &kWinogradBt43}, {4, 3, true, &kWinogradAt43},
    {4, 2, false, &kWinogradBt42}, {4, 2, true, &kWinogradAt42},
    {2, 3, false, &kWinogradBt23}, {2, 3, true, &kWinogradAt23},
};
constexpr int kWinogradFixedCount = sizeof(kWinogradFixedKeys) / sizeof(kWinogradFixedKeys[0]);

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_WINOGRAD_FIXED_H_
