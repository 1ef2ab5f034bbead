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
//
// AMX: a per-thread tile file configured from the 64-byte tile configuration
// in memory, parsed with the hardware's layout, and strict where the hardware
// faults: using tiles before _tile_loadconfig or after _tile_release, a
// palette other than 1, rows > 16 or bytes per row > 64, touching a tile the
// configuration leaves empty, and a TDPBF16PS whose tile shapes do not match
// all abort the process (the tester then fails). TDPBF16PS accumulates each
// pair like VDPBF16PS. Non-temporal stores likewise abort unless aligned.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_X86_EMULATION_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_X86_EMULATION_H_

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
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

// A 16-lane mask register.
using __mmask16 = uint16_t;

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
// Lanes whose mask bit is clear are zero and are not read: like the
// instruction, the load never touches memory past them.
inline __m512 _mm512_maskz_loadu_ps(__mmask16 mask, const void* p) {
  __m512 v;
  const float* src = static_cast<const float*>(p);
  for (int i = 0; i < 16; ++i) v.lane[i] = ((mask >> i) & 1) ? src[i] : 0.0f;
  return v;
}
// The sum of the 16 lanes, as a halving tree (GCC's expansion: upper half
// onto lower half, four times).
inline float _mm512_reduce_add_ps(__m512 v) {
  for (int width = 8; width >= 1; width /= 2) {
    for (int i = 0; i < width; ++i) v.lane[i] += v.lane[i + width];
  }
  return v.lane[0];
}
inline void _mm512_storeu_ps(void* p, __m512 v) { std::memcpy(p, v.lane, sizeof(v.lane)); }
inline void _mm512_storeu_pd(void* p, __m512d v) { std::memcpy(p, v.lane, sizeof(v.lane)); }
namespace tfco_x86_emulation {
// VMOVNTPS/VMOVNTPD fault unless the address is 64-byte aligned; so does this.
inline void StreamAlignmentCheck(const void* p) {
  if (reinterpret_cast<uintptr_t>(p) % 64 != 0) {
    std::fprintf(stderr, "x86 emulation: non-temporal store to an address not 64-byte aligned\n");
    std::abort();
  }
}
}  // namespace tfco_x86_emulation
inline void _mm512_stream_ps(void* p, __m512 v) {
  tfco_x86_emulation::StreamAlignmentCheck(p);
  std::memcpy(p, v.lane, sizeof(v.lane));
}
inline void _mm512_stream_pd(void* p, __m512d v) {
  tfco_x86_emulation::StreamAlignmentCheck(p);
  std::memcpy(p, v.lane, sizeof(v.lane));
}

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

// --- AMX -------------------------------------------------------------------

namespace tfco_x86_emulation {

struct AmxState {
  bool configured = false;
  uint8_t rows[8] = {};
  uint16_t colsb[8] = {};
  uint8_t tile[8][16][64] = {};
};

inline AmxState& Amx() {
  static thread_local AmxState state;
  return state;
}

[[noreturn]] inline void AmxFault(const char* what) {
  std::fprintf(stderr, "x86 emulation: AMX fault: %s\n", what);
  std::abort();
}

inline AmxState& ConfiguredTile(int t) {
  AmxState& s = Amx();
  if (!s.configured) AmxFault("tile used without a loaded configuration");
  if (t < 0 || t > 7 || s.rows[t] == 0 || s.colsb[t] == 0) AmxFault("tile not configured");
  return s;
}

}  // namespace tfco_x86_emulation

// The 64-byte configuration: palette id (byte 0), start row (byte 1), 14
// reserved bytes, 16 x uint16 bytes per row (bytes 16-47), 16 x uint8 rows
// (bytes 48-63); tiles 0-7 exist.
inline void _tile_loadconfig(const void* config) {
  using tfco_x86_emulation::AmxFault;
  const uint8_t* bytes = static_cast<const uint8_t*>(config);
  tfco_x86_emulation::AmxState& s = tfco_x86_emulation::Amx();
  if (bytes[0] != 1) AmxFault("palette must be 1");
  for (int i = 2; i < 16; ++i) {
    if (bytes[i] != 0) AmxFault("reserved configuration bytes must be zero");
  }
  for (int t = 0; t < 8; ++t) {
    uint16_t colsb;
    std::memcpy(&colsb, bytes + 16 + 2 * t, sizeof(colsb));
    const uint8_t rows = bytes[48 + t];
    if (rows > 16 || colsb > 64) AmxFault("tile larger than 16 rows x 64 bytes");
    if ((rows == 0) != (colsb == 0)) AmxFault("tile with rows but no bytes, or bytes but no rows");
    s.rows[t] = rows;
    s.colsb[t] = colsb;
  }
  std::memset(s.tile, 0, sizeof(s.tile));  // loading a configuration zeroes the tiles
  s.configured = true;
}

inline void _tile_release() {
  tfco_x86_emulation::Amx() = tfco_x86_emulation::AmxState();
}

inline void _tile_zero(int t) {
  std::memset(tfco_x86_emulation::ConfiguredTile(t).tile[t], 0, sizeof(uint8_t[16][64]));
}

inline void _tile_loadd(int t, const void* base, long stride) {
  tfco_x86_emulation::AmxState& s = tfco_x86_emulation::ConfiguredTile(t);
  std::memset(s.tile[t], 0, sizeof(uint8_t[16][64]));
  for (int r = 0; r < s.rows[t]; ++r) {
    std::memcpy(s.tile[t][r], static_cast<const uint8_t*>(base) + r * stride, s.colsb[t]);
  }
}

inline void _tile_stored(int t, void* base, long stride) {
  tfco_x86_emulation::AmxState& s = tfco_x86_emulation::ConfiguredTile(t);
  for (int r = 0; r < s.rows[t]; ++r) {
    std::memcpy(static_cast<uint8_t*>(base) + r * stride, s.tile[t][r], s.colsb[t]);
  }
}

// TDPBF16PS: C[m][n] (float) += A[m][2k+1] * B[k][2n+1], then += A[m][2k] *
// B[k][2n], over the k pairs of A's row (B's rows).
inline void _tile_dpbf16ps(int c, int a, int b) {
  using tfco_x86_emulation::AmxFault;
  using tfco_x86_emulation::Bf16ToFloatFlushed;
  using tfco_x86_emulation::FlushDenormal;
  tfco_x86_emulation::ConfiguredTile(c);
  tfco_x86_emulation::ConfiguredTile(a);
  tfco_x86_emulation::AmxState& s = tfco_x86_emulation::ConfiguredTile(b);
  if (c == a || c == b || a == b) AmxFault("TDPBF16PS needs three distinct tiles");
  if (s.rows[c] != s.rows[a] || s.colsb[c] != s.colsb[b] || s.colsb[a] != 4 * s.rows[b]) {
    AmxFault("TDPBF16PS tile shapes do not match");
  }
  for (int m = 0; m < s.rows[c]; ++m) {
    for (int n = 0; n < s.colsb[c] / 4; ++n) {
      float sum;
      std::memcpy(&sum, &s.tile[c][m][4 * n], sizeof(sum));
      for (int k = 0; k < s.rows[b]; ++k) {
        uint16_t a_even, a_odd, b_even, b_odd;
        std::memcpy(&a_even, &s.tile[a][m][4 * k], 2);
        std::memcpy(&a_odd, &s.tile[a][m][4 * k + 2], 2);
        std::memcpy(&b_even, &s.tile[b][k][4 * n], 2);
        std::memcpy(&b_odd, &s.tile[b][k][4 * n + 2], 2);
        sum = FlushDenormal(std::fma(Bf16ToFloatFlushed(a_odd), Bf16ToFloatFlushed(b_odd), sum));
        sum = FlushDenormal(std::fma(Bf16ToFloatFlushed(a_even), Bf16ToFloatFlushed(b_even), sum));
      }
      std::memcpy(&s.tile[c][m][4 * n], &sum, sizeof(sum));
    }
  }
}

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_X86_EMULATION_H_
