#include "cc/kernels/cpu/gather_engine.h"

#include <algorithm>
#include <cstring>

#include "cc/kernels/cpu/dy_row_cache.h"
#include "cc/kernels/cpu/indirection.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>  // _mm_sfence (SSE: every x86-64 has it)
#endif

namespace tf_custom_op {
namespace {

void FenceStreamingStores() {
#if defined(__x86_64__) || defined(_M_X64)
  _mm_sfence();
#endif
}

}  // namespace

template <typename Acc, typename Elem>
GatherEngine<Acc, Elem>::GatherEngine(const ConvProblem& params,
                                      const MicroKernel<Acc, Elem>& kernel)
    : params_(params),
      kernel_(kernel),
      row_plan_(RowPlanOf(params)),
      col_plan_(WithIncreasingOffsets(ColPlanOf(params))),
      packed_(FilterDims{params.filter_rows, params.filter_cols, params.filter_depth,
                         params.groups, params.out_depth_per_group},
              row_plan_, col_plan_, kernel.nr, kernel.k_pack) {
  const bool one_group_unpadded =
      params.groups == 1 && packed_.TapElements() == params.out_depth_per_group * kernel.nr;
  int64_t longest_merged_run = 1;
  for (const AxisPhase& cp : col_plan_.phases) {
    const bool merged = one_group_unpadded && cp.num_taps > 1 && col_plan_.ReadsConsecutive(cp);
    merged_cols_.push_back(merged);
    if (merged) longest_merged_run = std::max(longest_merged_run, cp.num_taps);
  }
  // A kernel may read the rows of a tile's pixels past m_valid (the
  // portable ones do), which point at the zero row: as long as the longest
  // merged tap.
  zero_row_.assign(static_cast<size_t>(params.out_depth_per_group * longest_merged_run), Elem{});
  chunk_blocks_ = std::max<int64_t>(
      1, kChunkPanelBytes / std::max<int64_t>(packed_.MaxBlockRunBytes(), 1));
  const double dx_bytes = static_cast<double>(DxElementCount(params)) * sizeof(Acc);
  stream_dx_ = kernel.stream_fn != nullptr && dx_bytes >= static_cast<double>(kStreamDxBytes);
}

template <typename Acc, typename Elem>
void GatherEngine<Acc, Elem>::SkipZeroRowTile(int64_t taps, int64_t depth,
                                        const Elem* const* rows,
                                        const Elem* packed, Acc* out,
                                        int64_t out_pixel_stride, int m_valid,
                                        int n_valid, int64_t taps_per_run,
                                        int64_t run_stride) const {
  const int mr = kernel_.mr;
  const int64_t nr = kernel_.nr;
  const int64_t tap_elements = packed_.TapElements();
  for (int m = 0; m < m_valid; ++m) {
    for (int n = 0; n < n_valid; ++n) {
      Acc sum = 0;
      for (int64_t t = 0; t < taps; ++t) {
        const Elem* row = rows[t * mr + m];
        if (row == zero_row_.data()) continue;
        const Elem* w = TapWeights(packed, t, taps_per_run, run_stride, tap_elements);
        for (int64_t k = 0; k < depth; ++k) {
          sum += Widen<Acc>(row[k]) * Widen<Acc>(w[PackedIndex(0, k, n, depth, nr, kernel_.k_pack)]);
        }
      }
      out[m * out_pixel_stride + n] = sum;
    }
  }
}

template <typename Acc, typename Elem>
double GatherEngine<Acc, Elem>::MacsPerRowUnit() const {
  return MacsPerDxRow(params_);
}

template <typename Acc, typename Elem>
int64_t GatherEngine<Acc, Elem>::RowsForPanelReuse() const {
  const int64_t sh = std::min(params_.stride_rows, params_.in_rows);
  const int64_t sw = std::min(params_.stride_cols, params_.in_cols);
  const int64_t pixels_per_row = std::max<int64_t>(1, params_.in_cols / sw);
  const int64_t rows = sh * ((kReusePixels + pixels_per_row - 1) / pixels_per_row);
  if (!TilesAcrossImages()) return rows;
  // Units are images of one dx row: whole tiles of MR images, or every image
  // of the row where there are fewer than two tiles' worth.
  const int64_t n = params_.batch, mr = kernel_.mr;
  if (n < 2 * mr) return std::max(rows, n);
  return (std::max(rows, mr) + mr - 1) / mr * mr;
}

template <typename Acc, typename Elem>
void GatherEngine<Acc, Elem>::ZeroPhaseColumns(Acc* dx_row, int64_t col_phase,
                                               const ChannelBlocks& blocks) const {
  const int64_t c = params_.in_depth, cg = params_.filter_depth;
  const int64_t sw = params_.stride_cols;
  int64_t first, count;
  ChannelsOf(blocks, &first, &count);
  for (int64_t x = col_phase; x < params_.in_cols; x += sw) {
    for (int64_t g = 0; g < params_.groups; ++g) {
      std::memset(static_cast<void*>(dx_row + x * c + g * cg + first), 0, count * sizeof(Acc));
    }
  }
}

template <typename Acc, typename Elem>
void GatherEngine<Acc, Elem>::ChannelsOf(const ChannelBlocks& blocks, int64_t* first,
                                         int64_t* count) const {
  *first = blocks.begin * kernel_.nr;
  *count = std::min(blocks.end * kernel_.nr, params_.filter_depth) - *first;
}

template <typename Acc, typename Elem>
typename GatherEngine<Acc, Elem>::ChannelBlocks GatherEngine<Acc, Elem>::AllChannelBlocks() const {
  return ChannelBlocks{0, packed_.channel_blocks()};
}

template <typename Acc, typename Elem>
typename GatherEngine<Acc, Elem>::ChannelBlocks GatherEngine<Acc, Elem>::ChannelSplit(
    int64_t part, int64_t parts) const {
  const int64_t blocks = packed_.channel_blocks();
  return ChannelBlocks{blocks * part / parts, blocks * (part + 1) / parts};
}

template <typename Acc, typename Elem>
int64_t GatherEngine<Acc, Elem>::ChannelSplitsFor(int threads) const {
  // Enough row blocks for every thread (two each, for balance): no split.
  const int64_t row_blocks = NumRowUnits() / std::max<int64_t>(RowsForPanelReuse(), 1);
  if (threads <= 1 || row_blocks >= 2 * threads) return 1;
  // Otherwise the threads share the channel blocks: each packed panel is
  // then read by one thread, not by every thread that has rows.
  const int64_t wanted = (2 * threads + std::max<int64_t>(row_blocks, 1) - 1) /
                         std::max<int64_t>(row_blocks, 1);
  return std::max<int64_t>(1, std::min(wanted, packed_.channel_blocks()));
}

template <typename Acc, typename Elem>
bool GatherEngine<Acc, Elem>::MergesColumnTaps(int64_t b) const {
  return merged_cols_[static_cast<size_t>(b)] != 0;
}

template <typename Acc, typename Elem>
int64_t GatherEngine<Acc, Elem>::MaxRowTaps() const {
  int64_t most = 0;
  for (const AxisPhase& rp : row_plan_.phases) most = std::max(most, rp.num_taps);
  return most;
}

template <typename Acc, typename Elem>
int64_t GatherEngine<Acc, Elem>::MaxTapsPerPhase() const {
  int64_t most = 0;
  for (const AxisPhase& rp : row_plan_.phases) {
    for (const AxisPhase& cp : col_plan_.phases) {
      most = std::max(most, rp.num_taps * cp.num_taps);
    }
  }
  return most;
}

// What one thread keeps between the blocks of rows it computes.
template <typename Acc, typename Elem>
struct GatherEngine<Acc, Elem>::Scratch {
  Scratch(const RowIO<Acc, Elem>& io, int64_t cached_rows, int64_t dy_row_elements)
      : cache(io, cached_rows, dy_row_elements) {}
  DyRowCache<Acc, Elem> cache;
  std::vector<const Elem*> slots;       // one tile's indirection
  std::vector<const Elem*> dy_rows;     // a dx row's dy rows, one per valid row tap
  std::vector<PhaseRow> phase_rows;     // the block's rows of one row phase
  std::vector<Acc*> dx_rows;            // where each row of the block is computed
  std::vector<Acc> dx_staged;           // rows not written in place
  std::vector<int64_t> tile_starts;     // a phase row's tiles (TileStarts)
};

template <typename Acc, typename Elem>
void GatherEngine<Acc, Elem>::ComputeRows(const RowIO<Acc, Elem>& io, int64_t begin,
                                    int64_t end, const ChannelBlocks& blocks) const {
  const int64_t row_taps_max = std::max<int64_t>(MaxRowTaps(), 1);
  // In place, every dy row is at hand: the whole range is one block, swept
  // chunk by chunk of channel blocks (ComputeBlock). Staged dy rows are
  // converted into a cache that holds every dy row of a block (so each is
  // converted once per block), and staged dx rows are stored at the end of
  // a block: blocks of RowsForPanelReuse() rows keep both small.
  // A caller may hand over every row at once (one thread): blocks of about
  // kBlockMacs multiply-adds keep a block's dy and dx rows in the caches
  // while its chunks sweep them.
  const bool in_place = io.RowsInPlace();
  if (in_place && TilesAcrossImages()) {
    std::vector<const Elem*> slots(
        static_cast<size_t>(std::max<int64_t>(MaxTapsPerPhase(), 1) * kernel_.mr));
    ComputeAcrossImages(io, begin, end, blocks, slots.data());
    if (stream_dx_) FenceStreamingStores();
    return;
  }
  const int64_t rows_for_macs =
      static_cast<int64_t>(kBlockMacs / std::max(1.0, MacsPerRowUnit())) + 1;
  const int64_t block_rows =
      in_place ? std::max(RowsForPanelReuse(), rows_for_macs) : RowsForPanelReuse();
  const int64_t sh = std::max<int64_t>(params_.stride_rows, 1);
  // dy rows a block of block_rows dx rows reads, spanning two images at most.
  const int64_t cached_rows = (block_rows + sh - 1) / sh + 2 * (row_taps_max + 1);
  Scratch scratch(io, cached_rows, params_.out_cols * params_.out_depth);
  scratch.slots.resize(static_cast<size_t>(std::max<int64_t>(MaxTapsPerPhase(), 1) * kernel_.mr));
  scratch.dy_rows.resize(static_cast<size_t>(row_taps_max));
  for (int64_t first = begin; first < end; first += block_rows) {
    ComputeBlock(io, first, std::min(end, first + block_rows), blocks, &scratch);
  }
  // Non-temporal stores are weakly ordered: make them visible before the
  // caller (and whoever reads dx after it) can see that these rows are done.
  if (stream_dx_) FenceStreamingStores();
}

template <typename Acc, typename Elem>
void GatherEngine<Acc, Elem>::ComputeBlock(const RowIO<Acc, Elem>& io, int64_t begin,
                                           int64_t end, const ChannelBlocks& blocks,
                                           Scratch* scratch) const {
  const int mr = kernel_.mr;
  const int64_t nr = kernel_.nr;
  const int64_t H = params_.in_rows, W = params_.in_cols, C = params_.in_depth;
  const int64_t P = params_.out_rows, Q = params_.out_cols, K = params_.out_depth;
  const int64_t cg = params_.filter_depth, kg = params_.out_depth_per_group;
  const int64_t sh = params_.stride_rows, sw = params_.stride_cols;
  const int64_t rows = end - begin;

  // Where each dx row is computed: in place, or in staging rows stored at
  // the end (RowIO decides by dtype and layout, so for all rows alike).
  auto& dx_rows = scratch->dx_rows;
  dx_rows.assign(static_cast<size_t>(rows), nullptr);
  bool staged = false;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t unit = begin + r;
    dx_rows[r] = io.DxRowInPlace(unit / H, unit % H);
    staged = staged || dx_rows[r] == nullptr;
  }
  if (staged) {
    scratch->dx_staged.resize(static_cast<size_t>(rows * W * C));
    for (int64_t r = 0; r < rows; ++r) dx_rows[r] = scratch->dx_staged.data() + r * W * C;
  }
  // Staged rows are read back at once: never streamed.
  const MicroKernelFn<Acc, Elem> fn =
      stream_dx_ && !staged ? kernel_.stream_fn : kernel_.fn;

  for (int64_t a = 0; a < std::min(sh, H); ++a) {
    const AxisPhase& rp = row_plan_.phases[a];
    const AxisTap* row_tap_list = row_plan_.taps.data() + rp.first_tap_slot;
    auto& phase_rows = scratch->phase_rows;
    phase_rows.clear();
    for (int64_t unit = begin; unit < end; ++unit) {
      const int64_t h = unit % H;
      if (h % sh != a) continue;
      PhaseRow row{unit / H, h / sh, 0, 0, dx_rows[unit - begin]};
      row_plan_.ValidTapRange(rp, row.i, P, &row.tap_begin, &row.tap_end);
      phase_rows.push_back(row);
    }
    if (phase_rows.empty()) continue;

    for (size_t b = 0; b < col_plan_.phases.size(); ++b) {
      const AxisPhase& cp = col_plan_.phases[b];
      const AxisTap* col_taps = col_plan_.taps.data() + cp.first_tap_slot;
      for (const PhaseRow& row : phase_rows) {
        if (row.tap_end == row.tap_begin || cp.num_taps == 0) {
          ZeroPhaseColumns(row.dx, static_cast<int64_t>(b), blocks);
        }
      }
      if (cp.num_taps == 0) continue;
      const int64_t block_stride = packed_.BlockStride(a, static_cast<int64_t>(b));
      const int64_t tap_elements = packed_.TapElements();
      const int64_t row_stride = packed_.RowTapStride(static_cast<int64_t>(b));
      std::vector<int64_t>& tile_starts = scratch->tile_starts;
      TileStarts(col_taps, cp.num_taps, cp.count, Q, mr, &tile_starts);
      for (int64_t g = 0; g < params_.groups; ++g) {
        // Channel blocks in chunks whose packed panels stay in L2 together.
        // Each chunk sweeps every row of the block before the next one
        // starts, so its panels are read from memory once per block (a
        // small map with a large filter has few pixels per row to reuse
        // them). Within a row, tile outer and channel block inner: a tile's
        // indirection is built once for the chunk, its dy rows are read by
        // every block while in L1, and its dx pixels are written block
        // after block.
        for (int64_t cb0 = blocks.begin; cb0 < blocks.end; cb0 += chunk_blocks_) {
          const int64_t cb_end = std::min(blocks.end, cb0 + chunk_blocks_);
          for (const PhaseRow& row : phase_rows) {
            const int64_t row_taps = row.tap_end - row.tap_begin;
            if (row_taps == 0) continue;
            for (int64_t rt = row.tap_begin; rt < row.tap_end; ++rt) {
              scratch->dy_rows[rt - row.tap_begin] =
                  scratch->cache.Get(row.n, row.i + row_tap_list[rt].offset) + g * kg;
            }
            const Elem* chunk_weights =
                packed_.Weights(g, a, static_cast<int64_t>(b), cb0, row.tap_begin);
            for (size_t t = 0; t + 1 < tile_starts.size(); ++t) {
              const int64_t j0 = tile_starts[t], width = tile_starts[t + 1] - j0;
              const TileColumns tile{j0, mr, static_cast<int>(width), Q, K};
              // Only the column taps some pixel of the tile reads inside dy:
              // one run of them per row tap (a dilated layer's edge tiles
              // skip whole taps that would multiply the zero row).
              int64_t ct_begin, ct_end;
              UsedColumnTaps(col_taps, cp.num_taps, tile, &ct_begin, &ct_end);
              const int64_t run = ct_end - ct_begin;
              Acc* tile_out = row.dx + (static_cast<int64_t>(b) + j0 * sw) * C + g * cg;
              // Merged (MergesColumnTaps, every pixel inside dy): one tap of
              // run * K_g values per row tap, read from the pixel of the
              // first (lowest offset) column tap.
              const bool merged = MergesColumnTaps(static_cast<int64_t>(b)) &&
                                  TileReadsInside(col_taps, ct_begin, ct_end, tile);
              const int64_t taps_per_run = merged ? 1 : run;
              const int64_t taps = row_taps * taps_per_run;
              const int64_t depth = merged ? run * kg : kg;
              const bool reads_zero_row = BuildTileIndirection(
                  scratch->dy_rows.data(), row_taps, col_taps + ct_begin, taps_per_run, tile,
                  zero_row_.data(), scratch->slots.data());
              const bool skip_zero_row = reads_zero_row && !packed_.finite();
              for (int64_t cb = cb0; cb < cb_end; ++cb) {
                const Elem* weights =
                    chunk_weights + (cb - cb0) * block_stride + ct_begin * tap_elements;
                const int n_valid = static_cast<int>(std::min(nr, cg - cb * nr));
                Acc* out = tile_out + cb * nr;
                if (skip_zero_row) {
                  // 0 * Inf would be NaN where TensorFlow skips the tap (a
                  // merged tile reads no zero row).
                  SkipZeroRowTile(taps, kg, scratch->slots.data(), weights, out, sw * C,
                                  tile.valid, n_valid, run, row_stride);
                  continue;
                }
                fn(taps, depth, scratch->slots.data(), weights, out, sw * C, tile.valid, n_valid,
                   taps_per_run, row_stride);
              }
            }
          }
        }
      }
    }
  }
  if (staged) {
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t unit = begin + r;
      io.StoreDxRow(unit / H, unit % H, dx_rows[r]);
    }
  }
}

#define TFCO_INSTANTIATE_ENGINE(Acc, Elem) template class GatherEngine<Acc, Elem>;
TF_CUSTOM_OP_ENGINE_TYPES(TFCO_INSTANTIATE_ENGINE)
#undef TFCO_INSTANTIATE_ENGINE

}  // namespace tf_custom_op
