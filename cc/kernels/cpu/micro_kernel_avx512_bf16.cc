// AVX512_BF16 micro-kernel: bfloat16 rows and weights, float accumulation,
// 6 pixels x 32 channels. VDPBF16PS multiplies the (k, k+1) bfloat16 pair of
// a dy pixel (broadcast as one 32-bit value) with each channel's weight pair
// and adds both products to that channel's float accumulator, so bfloat16 is
// never widened in memory. Compiled alone with the AVX-512 and AVX512_BF16
// flags (build_tools/sources.py) and only selected after CPUID reported the
// avx512_bf16 tier; the TF-free tester also runs it as plain C++
// (x86_intrinsics.h).
#if defined(__x86_64__) || defined(_M_X64)
#include <cstdint>
#include <cstring>

#include "cc/kernels/cpu/micro_kernel.h"
#include "cc/kernels/cpu/x86_intrinsics.h"
#include "cc/kernels/cpu/x86_tile.h"

namespace tf_custom_op {
namespace {

struct Bf16PairsAvx512 {
  using T = float;
  using Elem = BFloat16Bits;
  using V = __m512;
  using W = __m512bh;  // 16 channels x (k, k+1)
  using A = __m512bh;  // one pixel's (k, k+1) in every lane
  static constexpr int kLanes = 16;
  static constexpr int kPack = 2;
  static V Zero() { return _mm512_setzero_ps(); }
  static W LoadW(const Elem* p) { return (__m512bh)_mm512_loadu_si512(p); }
  static A Broadcast(const Elem* p) {
    int32_t pair;
    std::memcpy(&pair, p, sizeof(pair));
    return (__m512bh)_mm512_set1_epi32(pair);
  }
  // The last, unpaired k: its partner is a zero, as is its packed weight.
  static A BroadcastLast(const Elem* p) { return (__m512bh)_mm512_set1_epi32(p->bits); }
  static V Dot(V acc, A a, W w) { return _mm512_dpbf16_ps(acc, a, w); }
  static void Store(T* p, V v) { _mm512_storeu_ps(p, v); }
};

}  // namespace

// 12 pixels x 32 channels, as the AVX-512 float kernel (micro_kernel_avx512.cc).
constexpr int kWideMR = 12;
const MicroKernel<float, BFloat16Bits> kAvx512Bf16Kernel = {
    kWideMR, kVectors * Bf16PairsAvx512::kLanes, &Kernel<Bf16PairsAvx512, false, kWideMR>,
    "avx512bf16-12x32", Bf16PairsAvx512::kPack};

}  // namespace tf_custom_op
#endif  // x86-64
