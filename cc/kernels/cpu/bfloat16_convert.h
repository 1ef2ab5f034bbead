// Bulk bfloat16 <-> float conversion for the row staging of bfloat16 tensors
// (the float kernel's path: kernel_calibration.h). Plain loops on the bits,
// written without branches so that the compiler vectorizes them: a row goes
// through them whole, where Eigen's per-element conversion (with its NaN
// branch) ran scalar.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_BFLOAT16_CONVERT_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_BFLOAT16_CONVERT_H_

#include <cstdint>
#include <cstring>

namespace tf_custom_op {

// bfloat16 is the top half of a float: exact.
inline void WidenBfloat16(const uint16_t* src, float* dst, int64_t n) {
  for (int64_t e = 0; e < n; ++e) {
    const uint32_t bits = static_cast<uint32_t>(src[e]) << 16;
    std::memcpy(dst + e, &bits, sizeof(bits));
  }
}

// Rounds to nearest even, like Eigen::bfloat16(float); NaN stays a quiet NaN
// of the same sign.
inline void NarrowToBfloat16(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t e = 0; e < n; ++e) {
    uint32_t bits;
    std::memcpy(&bits, src + e, sizeof(bits));
    const uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
    const uint32_t quiet_nan = (bits >> 16) | 0x40u;
    const bool is_nan = (bits & 0x7fffffffu) > 0x7f800000u;
    dst[e] = static_cast<uint16_t>(is_nan ? quiet_nan : rounded);
  }
}

// The same conversions in vector registers, chosen at run time.
struct Bfloat16Converter {
  void (*to_float)(const uint16_t* src, float* dst, int64_t n);
  void (*from_float)(const float* src, uint16_t* dst, int64_t n);
};

// The AVX2 converter where the CPU has it (and TF_CUSTOM_OP_ISA allows it),
// else the portable loops above. Defined in micro_kernel_select.cc.
const Bfloat16Converter& SelectBfloat16Converter();

#if defined(__x86_64__) || defined(_M_X64)
// bfloat16_convert_avx2.cc, compiled with -mavx2.
extern const Bfloat16Converter kAvx2Bfloat16Converter;
#endif

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_BFLOAT16_CONVERT_H_
