// The element types the CPU engine reads (dy rows and packed weights), and
// the few facts about them it needs: widening to the accumulation type and
// finiteness. An element type is either the accumulation type itself (float,
// double, int32) or bfloat16 kept as its bits, which the bfloat16 kernels
// read in pairs (AVX512_BF16's VDPBF16PS, AMX's TDPBF16PS) instead of
// having every dy row widened to float first. Free of TF headers:
// BFloat16Bits has the layout of Eigen::bfloat16 (one uint16 of bits).
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_ELEMENT_TYPES_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_ELEMENT_TYPES_H_

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace tf_custom_op {

struct BFloat16Bits {
  uint16_t bits;
};

// The engine's (accumulation, element) pairs, one line each: every explicit
// instantiation of the engine and its packing is generated from this list.
#define TF_CUSTOM_OP_ENGINE_TYPES(X) \
  X(float, float)                    \
  X(double, double)                  \
  X(int32_t, int32_t)                \
  X(float, BFloat16Bits)

// The value of an element in the accumulation type (exact for every pair
// the engine uses: bfloat16 -> float only adds zero mantissa bits).
template <typename Acc, typename Elem>
inline Acc Widen(Elem v) {
  return static_cast<Acc>(v);
}
template <>
inline float Widen<float, BFloat16Bits>(BFloat16Bits v) {
  const uint32_t wide = static_cast<uint32_t>(v.bits) << 16;
  float out;
  std::memcpy(&out, &wide, sizeof(out));
  return out;
}

// False for Inf and NaN (integers are always finite). Floating types test
// their exponent bits (all ones: Inf or NaN) rather than compare, so that a
// loop over a whole filter vectorizes.
template <typename Elem>
inline bool IsFiniteElement(Elem) {
  static_assert(std::is_integral<Elem>::value, "a floating element type needs its own test");
  return true;
}
template <>
inline bool IsFiniteElement<float>(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  return (bits & 0x7f800000u) != 0x7f800000u;
}
template <>
inline bool IsFiniteElement<double>(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  return (bits & 0x7ff0000000000000u) != 0x7ff0000000000000u;
}
template <>
inline bool IsFiniteElement<BFloat16Bits>(BFloat16Bits v) {
  return (v.bits & 0x7f80u) != 0x7f80u;  // exponent all ones: Inf or NaN
}

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_ELEMENT_TYPES_H_
