// Layout and dtype conversion around the NHWC engine: NCHW <-> NHWC
// transposes fused with the conversion to and from the accumulation type.
// Pure C++ templates; `Convert` is any callable mapping one element.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_LAYOUT_CONVERT_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_LAYOUT_CONVERT_H_

#include <algorithm>
#include <cstdint>

namespace tf_custom_op {

// Tile edge of the blocked transposes: a 32x32 tile of 4-byte elements is
// 4 KiB per side, comfortably inside L1.
constexpr int64_t kTransposeTile = 32;

// src [images][channels][pixels] -> dst [images][pixels][channels], for
// images [image_begin, image_end).
template <typename Src, typename Dst, typename Convert>
void ChannelsFirstToLast(const Src* src, Dst* dst, int64_t image_begin,
                         int64_t image_end, int64_t channels, int64_t pixels,
                         Convert convert) {
  for (int64_t n = image_begin; n < image_end; ++n) {
    const Src* s = src + n * channels * pixels;
    Dst* d = dst + n * channels * pixels;
    for (int64_t c0 = 0; c0 < channels; c0 += kTransposeTile) {
      const int64_t c1 = std::min(channels, c0 + kTransposeTile);
      for (int64_t p0 = 0; p0 < pixels; p0 += kTransposeTile) {
        const int64_t p1 = std::min(pixels, p0 + kTransposeTile);
        for (int64_t p = p0; p < p1; ++p) {
          for (int64_t c = c0; c < c1; ++c) {
            d[p * channels + c] = convert(s[c * pixels + p]);
          }
        }
      }
    }
  }
}

// src [images][pixels][channels] -> dst [images][channels][pixels].
template <typename Src, typename Dst, typename Convert>
void ChannelsLastToFirst(const Src* src, Dst* dst, int64_t image_begin,
                         int64_t image_end, int64_t channels, int64_t pixels,
                         Convert convert) {
  for (int64_t n = image_begin; n < image_end; ++n) {
    const Src* s = src + n * channels * pixels;
    Dst* d = dst + n * channels * pixels;
    for (int64_t c0 = 0; c0 < channels; c0 += kTransposeTile) {
      const int64_t c1 = std::min(channels, c0 + kTransposeTile);
      for (int64_t p0 = 0; p0 < pixels; p0 += kTransposeTile) {
        const int64_t p1 = std::min(pixels, p0 + kTransposeTile);
        for (int64_t c = c0; c < c1; ++c) {
          for (int64_t p = p0; p < p1; ++p) {
            d[c * pixels + p] = convert(s[p * channels + c]);
          }
        }
      }
    }
  }
}

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_LAYOUT_CONVERT_H_
