// Indirection of the CPU engine: for one tile of MR dx pixels along a row
// phase, the dy row each (tap, pixel) pair reads, as a pointer; pixels that
// fall outside dy (or past the tile's end) read a shared row of zeros.
//
// Built per tile, on the fly, into a small buffer: never a tensor-sized
// im2col buffer. The micro-kernel then needs no index arithmetic at all.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_INDIRECTION_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_INDIRECTION_H_

#include <algorithm>
#include <cstdint>
#include <vector>

#include "cc/kernels/phase_plan.h"

namespace tf_custom_op {

// One tile's geometry along the columns.
struct TileColumns {
  int64_t first;        // phase-local index j0 of the tile's first pixel
  int mr;               // pixels per tile (the micro-kernel's MR)
  int valid;            // pixels of the tile inside the phase (<= mr)
  int64_t dy_cols;      // Q: dy's width
  int64_t pixel_stride; // elements between consecutive dy pixels (K)
};

// Pixels of the tile that starts at phase-local index `first` of `count`:
// MR, except that the last two tiles share what is left when it is between
// MR and 2 MR pixels (56 = 8 x 6 + 4 + 4 rather than 9 x 6 + 2): a narrow
// tile has too few independent accumulators to keep the FMA units busy.
inline int TileWidthAt(int64_t first, int64_t count, int mr) {
  const int64_t left = count - first;
  if (left <= mr || left >= 2 * mr) return static_cast<int>(left < mr ? left : mr);
  return static_cast<int>((left + 1) / 2);
}

// Where the tiles of a phase row of `count` pixels start, in `starts` (and
// `count` at the end). A column tap reads inside dy for the pixels j with
// 0 <= j + offset < dy_cols: the row splits into regions whose pixels read
// the same taps. Tiles do not straddle a boundary between two regions of at
// least MR/2 pixels each (a dilated layer's edges: each side's tiles then
// leave out the taps that read only padding, UsedColumnTaps); narrower
// regions (the one-pixel edges of an undilated 3x3) are not worth a narrow
// tile. Within a stretch, TileWidthAt.
inline void TileStarts(const AxisTap* col_taps, int64_t col_tap_count, int64_t count,
                       int64_t dy_cols, int mr, std::vector<int64_t>* starts) {
  std::vector<int64_t> cuts = {0, count};
  for (int64_t ct = 0; ct < col_tap_count; ++ct) {
    for (const int64_t j : {-col_taps[ct].offset, dy_cols - col_taps[ct].offset}) {
      if (j > 0 && j < count) cuts.push_back(j);
    }
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  // Drop boundaries with a narrow region on either side, narrowest first.
  const int64_t narrowest = std::max(1, mr / 2);
  for (bool merged = true; merged && cuts.size() > 2;) {
    merged = false;
    size_t worst = 0;
    int64_t worst_width = narrowest;
    for (size_t c = 1; c + 1 < cuts.size(); ++c) {
      const int64_t width = std::min(cuts[c] - cuts[c - 1], cuts[c + 1] - cuts[c]);
      if (width < worst_width) {
        worst = c;
        worst_width = width;
      }
    }
    if (worst != 0) {
      cuts.erase(cuts.begin() + static_cast<std::ptrdiff_t>(worst));
      merged = true;
    }
  }
  starts->clear();
  for (size_t c = 0; c + 1 < cuts.size(); ++c) {
    for (int64_t j = cuts[c], width = 0; j < cuts[c + 1]; j += width) {
      starts->push_back(j);
      width = TileWidthAt(j - cuts[c], cuts[c + 1] - cuts[c], mr);
    }
  }
  starts->push_back(count);
}

// The column taps [*begin, *end) that some valid pixel of `tile` reads inside
// dy (every tap of the phase when none is: the kernel then multiplies zero
// rows, as before). A tap's dy column is first + m + offset, and the
// offsets of a phase's taps are monotone, so the used ones are a range.
inline void UsedColumnTaps(const AxisTap* col_taps, int64_t col_tap_count,
                           const TileColumns& tile, int64_t* begin, int64_t* end) {
  const auto used = [&](int64_t ct) {
    const int64_t q0 = tile.first + col_taps[ct].offset;
    return q0 + tile.valid - 1 >= 0 && q0 < tile.dy_cols;
  };
  int64_t b = 0, e = col_tap_count;
  while (b < e && !used(b)) ++b;
  while (e > b && !used(e - 1)) --e;
  if (b == e) {
    b = 0;
    e = col_tap_count;
  }
  *begin = b;
  *end = e;
}

// Whether every valid pixel of `tile` reads inside dy for each of the column
// taps [begin, end) (offsets monotone: the two ends bound the rest).
inline bool TileReadsInside(const AxisTap* col_taps, int64_t begin, int64_t end,
                            const TileColumns& tile) {
  if (begin >= end) return false;
  const int64_t low = std::min(col_taps[begin].offset, col_taps[end - 1].offset);
  const int64_t high = std::max(col_taps[begin].offset, col_taps[end - 1].offset);
  return tile.first + low >= 0 && tile.first + tile.valid - 1 + high < tile.dy_cols;
}

// Fills `slots` with row_taps x col_taps x mr pointers: for row tap rt
// (`dy_rows[rt]` is its dy row, already offset to the group's channels),
// column tap ct and pixel m, the dy pixel j0 + m + col_taps[ct].offset, or
// `zero_row`. Returns whether a valid pixel reads `zero_row`.
template <typename Elem>
bool BuildTileIndirection(const Elem* const* dy_rows, int64_t row_taps,
                          const AxisTap* col_taps, int64_t col_tap_count,
                          const TileColumns& tile, const Elem* zero_row,
                          const Elem** slots) {
  bool reads_zero_row = false;
  for (int64_t rt = 0; rt < row_taps; ++rt) {
    const Elem* dy_row = dy_rows[rt];
    for (int64_t ct = 0; ct < col_tap_count; ++ct, slots += tile.mr) {
      const int64_t q0 = tile.first + col_taps[ct].offset;
      // Pixels [m_begin, m_end) of the tile read inside dy; the rest read
      // zeros. Most taps of most tiles are wholly inside: one branch-free
      // loop then fills them.
      const int m_begin = static_cast<int>(std::min<int64_t>(std::max<int64_t>(-q0, 0), tile.valid));
      const int m_end = static_cast<int>(
          std::max<int64_t>(std::min<int64_t>(tile.dy_cols - q0, tile.valid), m_begin));
      reads_zero_row |= m_begin > 0 || m_end < tile.valid;
      // Three plain loops rather than one with a select per pointer: on
      // layers with few channels (b1_3x3_c16) the select loop took a tenth
      // of the layer's time.
      const Elem* pixel = dy_row + q0 * tile.pixel_stride;
      for (int m = 0; m < m_begin; ++m) slots[m] = zero_row;
      for (int m = m_begin; m < m_end; ++m) slots[m] = pixel + m * tile.pixel_stride;
      for (int m = m_end; m < tile.mr; ++m) slots[m] = zero_row;
    }
  }
  return reads_zero_row;
}

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_INDIRECTION_H_
