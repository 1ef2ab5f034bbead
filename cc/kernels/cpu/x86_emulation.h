// Plain C++ emulation of the AVX-512 intrinsics our micro-kernels use, so the
// TF-free tester (tests/cpu_engine/kernel_test.cc, `make cpu-kernel-emulation`)
// runs the AVX-512F and AVX512_BF16 kernels on any CPU. Only ever included
// through x86_intrinsics.h with TFCO_X86_EMULATION defined, never together
// with <immintrin.h>; the library itself never uses it.
//
// Each function follows the instruction's documented per-lane semantics
// closely enough that the kernels' results are the ones the hardware gives:
// FMAs round once (std::fma), and VDPBF16PS treats bfloat16 denormal inputs
// as zero, adds the odd product before the even one, rounds each addition to
// nearest even and flushes denormal results to zero. Not emulated: exceptions
// and MXCSR modes (the kernels run with the defaults), and timings.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_X86_EMULATION_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_X86_EMULATION_H_

#include <cmath>
#include <cstdint>
#include <cstring>

// The register types, as arrays of lanes (the names are the compiler's own so
// that kernel code reads the same in both builds).
struct __m512 {
  float lane[16];
};
struct __m512d {
  double lane[8];
};
struct __m512i {
  int32_t lane[16];
};
// 32 bfloat16 values as raw bits; converted from __m512i by a C-style cast in
// kernel code, as GCC's vector types are.
struct __m512bh {
  uint16_t lane[32];
  __m512bh() = default;
  explicit __m512bh(const __m512i& bits) { std::memcpy(lane, bits.lane, sizeof(lane)); }
};

namespace tfco_x86_emulation {

template <typename V, typename T, int N>
inline V Fill(T value) {
  V v;
  for (int i = 0; i < N; ++i) v.lane[i] = value;
  return v;
}

inline float Bf16ToFloatFlushed(uint16_t bits) {
  if ((bits & 0x7f80u) == 0) bits &= 0x8000u;  // denormal (or zero) in: +-0
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float out;
  std::memcpy(&out, &wide, sizeof(out));
  return out;
}

inline float FlushDenormal(float value) {
  return std::fpclassify(value) == FP_SUBNORMAL ? std::copysign(0.0f, value) : value;
}

}  // namespace tfco_x86_emulation

inline __m512 _mm512_setzero_ps() { return tfco_x86_emulation::Fill<__m512, float, 16>(0.0f); }
inline __m512d _mm512_setzero_pd() { return tfco_x86_emulation::Fill<__m512d, double, 8>(0.0); }
inline __m512 _mm512_set1_ps(float v) { return tfco_x86_emulation::Fill<__m512, float, 16>(v); }
inline __m512d _mm512_set1_pd(double v) { return tfco_x86_emulation::Fill<__m512d, double, 8>(v); }
inline __m512i _mm512_set1_epi32(int v) { return tfco_x86_emulation::Fill<__m512i, int32_t, 16>(v); }

inline __m512 _mm512_loadu_ps(const void* p) {
  __m512 v;
  std::memcpy(v.lane, p, sizeof(v.lane));
  return v;
}
inline __m512d _mm512_loadu_pd(const void* p) {
  __m512d v;
  std::memcpy(v.lane, p, sizeof(v.lane));
  return v;
}
inline __m512i _mm512_loadu_si512(const void* p) {
  __m512i v;
  std::memcpy(v.lane, p, sizeof(v.lane));
  return v;
}
inline void _mm512_storeu_ps(void* p, __m512 v) { std::memcpy(p, v.lane, sizeof(v.lane)); }
inline void _mm512_storeu_pd(void* p, __m512d v) { std::memcpy(p, v.lane, sizeof(v.lane)); }

inline __m512 _mm512_fmadd_ps(__m512 a, __m512 b, __m512 c) {
  for (int i = 0; i < 16; ++i) c.lane[i] = std::fma(a.lane[i], b.lane[i], c.lane[i]);
  return c;
}
inline __m512d _mm512_fmadd_pd(__m512d a, __m512d b, __m512d c) {
  for (int i = 0; i < 8; ++i) c.lane[i] = std::fma(a.lane[i], b.lane[i], c.lane[i]);
  return c;
}

// VDPBF16PS: acc[i] += a[2i+1] * b[2i+1], then += a[2i] * b[2i]. The product
// of two bfloat16 values is exact in float, so each step is one fma.
inline __m512 _mm512_dpbf16_ps(__m512 acc, __m512bh a, __m512bh b) {
  using tfco_x86_emulation::Bf16ToFloatFlushed;
  using tfco_x86_emulation::FlushDenormal;
  for (int i = 0; i < 16; ++i) {
    float sum = acc.lane[i];
    sum = FlushDenormal(std::fma(Bf16ToFloatFlushed(a.lane[2 * i + 1]),
                                 Bf16ToFloatFlushed(b.lane[2 * i + 1]), sum));
    sum = FlushDenormal(std::fma(Bf16ToFloatFlushed(a.lane[2 * i]),
                                 Bf16ToFloatFlushed(b.lane[2 * i]), sum));
    acc.lane[i] = sum;
  }
  return acc;
}

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_X86_EMULATION_H_
