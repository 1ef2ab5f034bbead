// The engine's tiles across images, for small maps (GatherEngine::
// ComputeAcrossImages, declared in gather_engine.h).
//
// A tile normally holds MR pixels of one phase row. On small maps (rows of
// 7 to 23 pixels per phase: a generator's 7x7 and 8x8 layers, 14x14 x 512
// channels) that leaves split, narrow tiles, and most pixels sit near an
// edge, where some of their taps read the zero row and multiply it. Here a
// tile holds the same pixel (h, x) of up to MR consecutive images instead:
// all of its pixels have the same taps inside dy, so exactly those taps are
// computed (row taps and column taps trimmed, passed to the kernel as runs),
// no zero row is read, and every tile is MR pixels wide while images last.
// The work units are then ordered position-major: unit u is image u % N of
// dx row u / N.
#include <algorithm>
#include <cstring>

#include "cc/kernels/cpu/gather_engine.h"
#include "cc/kernels/cpu/indirection.h"

namespace tf_custom_op {

template <typename Acc, typename Elem>
bool GatherEngine<Acc, Elem>::TilesAcrossImages() const {
  int64_t widest = 0;
  for (const AxisPhase& cp : col_plan_.phases) widest = std::max(widest, cp.count);
  return params_.batch >= kernel_.mr / 2 && widest < 2 * kernel_.mr;
}

template <typename Acc, typename Elem>
void GatherEngine<Acc, Elem>::ComputeAcrossImages(const RowIO<Acc, Elem>& io, int64_t begin,
                                                  int64_t end, const ChannelBlocks& blocks,
                                                  const Elem** slots) const {
  const int mr = kernel_.mr;
  const int64_t nr = kernel_.nr;
  const int64_t N = params_.batch, H = params_.in_rows, W = params_.in_cols;
  const int64_t C = params_.in_depth, P = params_.out_rows, Q = params_.out_cols;
  const int64_t K = params_.out_depth;
  const int64_t cg = params_.filter_depth, kg = params_.out_depth_per_group;
  const int64_t sh = params_.stride_rows, sw = params_.stride_cols;
  const int64_t dx_image = H * W * C, dy_image = P * Q * K;
  // In place (the caller checked): image 0's first rows locate the tensors.
  const Elem* dy = io.DyRow(0, 0, nullptr);
  Acc* dx = io.DxRowInPlace(0, 0);
  int64_t first_channel, channels;
  ChannelsOf(blocks, &first_channel, &channels);

  // Units [begin, end) in runs of consecutive images of one dx row h.
  for (int64_t u0 = begin; u0 < end;) {
    const int64_t h = u0 / N, n_begin = u0 % N;
    const int64_t n_end = std::min(N, n_begin + (end - u0));
    u0 += n_end - n_begin;
    const int64_t a = h % sh, i = h / sh;
    const AxisPhase& rp = row_plan_.phases[a];
    const AxisTap* row_taps = row_plan_.taps.data() + rp.first_tap_slot;
    int64_t rt_begin, rt_end;
    row_plan_.ValidTapRange(rp, i, P, &rt_begin, &rt_end);

    for (size_t b = 0; b < col_plan_.phases.size(); ++b) {
      const AxisPhase& cp = col_plan_.phases[b];
      const AxisTap* col_taps = col_plan_.taps.data() + cp.first_tap_slot;
      const int64_t tap_elements = packed_.TapElements();
      const int64_t run_stride = packed_.RowTapStride(static_cast<int64_t>(b));
      const int64_t block_stride = packed_.BlockStride(a, static_cast<int64_t>(b));
      // Merged column taps (MergesColumnTaps): only the first of each row
      // tap's run gets a slot, read as one tap of run * K_g values.
      const bool merged = MergesColumnTaps(static_cast<int64_t>(b));
      for (int64_t g = 0; g < params_.groups; ++g) {
        // Chunk outer: its panels serve every pixel and image of the run.
        for (int64_t cb0 = blocks.begin; cb0 < blocks.end; cb0 += chunk_blocks_) {
          const int64_t cb_end = std::min(blocks.end, cb0 + chunk_blocks_);
          for (int64_t j = 0; j < cp.count; ++j) {
            const int64_t x = static_cast<int64_t>(b) + j * sw;
            Acc* pixel = dx + (h * W + x) * C + g * cg;
            int64_t ct_begin, ct_end;
            col_plan_.ValidTapRange(cp, j, Q, &ct_begin, &ct_end);
            const int64_t run = ct_end - ct_begin;
            const int64_t taps_per_run = merged ? 1 : run;
            const int64_t taps = (rt_end - rt_begin) * taps_per_run;
            const int64_t depth = merged ? run * kg : kg;
            if (taps == 0) {
              // No tap lands inside dy: this pixel's channels are zero.
              if (cb0 == blocks.begin) {
                for (int64_t n = n_begin; n < n_end; ++n) {
                  std::memset(static_cast<void*>(pixel + n * dx_image + first_channel), 0,
                              channels * sizeof(Acc));
                }
              }
              continue;
            }
            const Elem* weights = packed_.Weights(g, a, static_cast<int64_t>(b), cb0, rt_begin) +
                                  ct_begin * tap_elements;
            for (int64_t n0 = n_begin, width = 0; n0 < n_end; n0 += width) {
              width = TileWidthAt(n0 - n_begin, n_end - n_begin, mr);
              // Tap (rt, ct) of image n0 + m: dy[n0 + m][i + offset][j + offset].
              const Elem** slot = slots;
              for (int64_t rt = rt_begin; rt < rt_end; ++rt) {
                for (int64_t ct = ct_begin; ct < ct_begin + taps_per_run; ++ct, slot += mr) {
                  const Elem* tap = dy + ((i + row_taps[rt].offset) * Q + j + col_taps[ct].offset) * K +
                                    g * kg;
                  for (int m = 0; m < mr; ++m) {
                    slot[m] = tap + (n0 + std::min<int64_t>(m, width - 1)) * dy_image;
                  }
                }
              }
              for (int64_t cb = cb0; cb < cb_end; ++cb) {
                kernel_.fn(taps, depth, slots, weights + (cb - cb0) * block_stride,
                           pixel + n0 * dx_image + cb * nr, dx_image, static_cast<int>(width),
                           static_cast<int>(std::min(nr, cg - cb * nr)), taps_per_run,
                           run_stride);
              }
            }
          }
        }
      }
    }
  }
}

// The members defined here, for the element types gather_engine.cc
// instantiates the rest of the class with.
#define TFCO_INSTANTIATE_ACROSS_IMAGES(Acc, Elem)                                         \
  template bool GatherEngine<Acc, Elem>::TilesAcrossImages() const;                      \
  template void GatherEngine<Acc, Elem>::ComputeAcrossImages(                            \
      const RowIO<Acc, Elem>&, int64_t, int64_t, const ChannelBlocks&, const Elem**) const;
TF_CUSTOM_OP_ENGINE_TYPES(TFCO_INSTANTIATE_ACROSS_IMAGES)
#undef TFCO_INSTANTIATE_ACROSS_IMAGES

}  // namespace tf_custom_op
