#include "cc/kernels/cpu/kernel_calibration.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cc/kernels/cpu/filter_packing.h"

namespace tf_custom_op {
namespace {

// Seconds per multiply-add of `kernel` on a whole tile of 4 taps x 64 k
// (packed panel and rows in L1): the best of several timings.
template <typename Elem>
double SecondsPerMac(const MicroKernel<float, Elem>& kernel) {
  constexpr int64_t kTaps = 4, kDepth = 64;
  const int mr = kernel.mr, nr = kernel.nr;
  std::vector<Elem> row(kDepth, Elem{});
  std::vector<const Elem*> rows(static_cast<size_t>(kTaps * mr), row.data());
  std::vector<Elem> packed(static_cast<size_t>(kTaps * PaddedDepth(kDepth, kernel.k_pack) * nr),
                           Elem{});
  std::vector<float> out(static_cast<size_t>(mr * nr));
  const int calls = 400;
  double best = 1e30;
  for (int rep = 0; rep < 5; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    for (int c = 0; c < calls; ++c) {
      kernel.fn(kTaps, kDepth, rows.data(), packed.data(), out.data(), nr, mr, nr, kTaps, 0);
    }
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    best = std::min(best, took.count());
  }
  return best / (static_cast<double>(calls) * kTaps * kDepth * mr * nr);
}

}  // namespace

bool Bf16KernelBeatsFloat(const MicroKernel<float, BFloat16Bits>& bf16,
                          const MicroKernel<float>& float_kernel) {
  if (const char* forced = std::getenv("TF_CUSTOM_OP_BF16_PATH")) {
    if (std::strcmp(forced, "native") == 0) return true;
    if (std::strcmp(forced, "float") == 0) return false;
  }
  // The float path also widens every dy row it reads: ask for a clear win
  // (a tenth) before leaving the kernel that reads bfloat16 itself.
  return SecondsPerMac(bf16) < 1.1 * SecondsPerMac(float_kernel);
}

}  // namespace tf_custom_op
