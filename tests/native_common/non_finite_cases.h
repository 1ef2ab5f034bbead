// The non-finite values the TF-free testers plant (tests/cpu_engine/
// kernel_test.cc for the CPU engine, tests/gpu_emulation/emulation_test.cc
// for the CUDA kernels): one Inf or NaN in the filter or in dy, where a wrong
// zero would meet it. A tap outside dy must be skipped, never multiplied by a
// zero standing in for it, and the padding past K_g must be zero in the
// filter as in dy. Places: the first element, the last one, and the first k
// of the last channel (for K_g odd, the k the bfloat16 packing pairs with the
// previous channel's or group's last k).
#ifndef TF_CUSTOM_OP_TESTS_NATIVE_COMMON_NON_FINITE_CASES_H_
#define TF_CUSTOM_OP_TESTS_NATIVE_COMMON_NON_FINITE_CASES_H_

#include <cmath>
#include <cstdint>

#include "cc/kernels/conv_params.h"

namespace tf_custom_op {
namespace testing {

enum class Place { kFirst, kLast, kLastChannelFirstK };

struct Poison {
  const char* name;
  bool in_filter;  // else in dy
  Place place;
  double value;
};

constexpr Poison kPoisons[] = {
    {"filter_inf_first", true, Place::kFirst, INFINITY},
    {"filter_nan_last", true, Place::kLast, NAN},
    {"filter_neginf_last_channel_first_k", true, Place::kLastChannelFirstK, -INFINITY},
    {"dy_inf_first", false, Place::kFirst, INFINITY},
    {"dy_nan_last", false, Place::kLast, NAN},
    {"dy_neginf_last_channel_first_k", false, Place::kLastChannelFirstK, -INFINITY},
};
constexpr int kNumPoisons = sizeof(kPoisons) / sizeof(kPoisons[0]);

// Index of `poison`'s place in the HWIO filter [R, S, C_g, K] or the NHWC dy
// [N, P, Q, K] of `p` (`size` elements): the middle tap or pixel for
// kLastChannelFirstK, at the first k of the last group.
inline int64_t PoisonIndex(const ConvProblem& p, const Poison& poison, int64_t size) {
  if (poison.place == Place::kFirst) return 0;
  if (poison.place == Place::kLast) return size - 1;
  const int64_t first_k_of_last_group = (p.groups - 1) * p.out_depth_per_group;
  if (poison.in_filter) {
    const int64_t tap = (p.filter_rows * p.filter_cols) / 2;
    return (tap * p.filter_depth + p.filter_depth - 1) * p.out_depth + first_k_of_last_group;
  }
  const int64_t pixel = (p.batch * p.out_rows * p.out_cols) / 2;
  return pixel * p.out_depth + first_k_of_last_group;
}

}  // namespace testing
}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_TESTS_NATIVE_COMMON_NON_FINITE_CASES_H_
