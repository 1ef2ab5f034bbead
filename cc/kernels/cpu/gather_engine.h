// The CPU engine's driver: walks the dx rows a caller asks for and, per
// (row phase, column phase, group, chunk of channel blocks whose panels fit
// L2, tile of MR pixels, channel block), hands a micro-kernel the tile's
// indirection and packed weights (see docs/DESIGN.md, sections 1-2).
//
// The parts it drives live apart and can be tested and reused alone:
//   phase_plan.h        which filter taps land on which phase (the math)
//   filter_packing.h    the filter rearranged into micro-kernel panels
//   indirection.h       per-tile pointers to the dy rows each tap reads
//   dy_row_cache.h      staged dy rows (converted dtypes and layouts)
//   micro_kernel.h      the register-tiled inner products, one per ISA
//
// Reads dy rows and packed weights of the element type Elem and computes
// and writes dx in the accumulation type Acc (float, double or int32; Elem
// is Acc, or bfloat16 bits for the bfloat16 kernels: element_types.h). RowIO
// converts other dtypes and layouts row by row. Free of TensorFlow headers.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_GATHER_ENGINE_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_GATHER_ENGINE_H_

#include <cstdint>
#include <vector>

#include "cc/kernels/conv_params.h"
#include "cc/kernels/cpu/filter_packing.h"
#include "cc/kernels/cpu/micro_kernel.h"
#include "cc/kernels/cpu/row_io.h"
#include "cc/kernels/phase_plan.h"

namespace tf_custom_op {

// Budget for the packed panels of the channel blocks a tile sweeps together
// (they must stay in L2 while the tiles of a row go by): three quarters of
// the smallest L2 we run on (512 KB per core on Zen 1), leaving room for the
// dy rows the tile reads. Measured with `build/cpu_engine_bench` on Zen 1
// against one block at a time (the former order) and all blocks at once:
// resnet1x1_56 +6%, resnet3x3_56 +3%, others within noise; all blocks at once
// lost a third on 3x3x512x512, whose 9 MB of panels then stream from memory
// for every tile.
constexpr int64_t kChunkPanelBytes = 384 * 1024;

// A dx at least this large is written with the kernel's non-temporal stores
// (MicroKernel::stream_fn) when the engine writes it in place: it would not
// stay in a last-level cache of this size for its reader anyway (8 MB per
// core complex on Zen 1-3), so skipping the read of each line before its
// first write is pure gain. Measured on Zen 1 with `build/cpu_engine_bench`
// (1 thread, streaming against not, alternately): resnet1x1_56 (25 MB of dx)
// +3%, vgg3x3_c256 and dcgan_up4x4s2 +1-3%, resnet3x3_56 -0.6 to +0.6%.
constexpr int64_t kStreamDxBytes = 8 << 20;

// Pixels of one (row phase, column phase) a block of rows should hold: a
// chunk's panels come from memory once per block and from L2 once per tile,
// so a few tiles per block amortize the first read (small maps with large
// filters otherwise read every panel once per dx row).
constexpr int64_t kReusePixels = 64;

// Multiply-adds of a block of rows: the size of the op's parallel work items
// (parallel_rows.h; about 100-200 us of work, small enough to balance two
// threads, large enough to span several dx rows), and of the blocks that
// ComputeRows sweeps chunk by chunk when it is given more rows at once (at
// least RowsForPanelReuse() rows).
constexpr double kBlockMacs = 8.0e6;

template <typename Acc, typename Elem = Acc>
class GatherEngine {
 public:
  // `params` must describe a validated, non-empty problem (every size > 0).
  GatherEngine(const ConvProblem& params,
               const MicroKernel<Acc, Elem>& kernel);
  // The packed filter refers to the plans held here.
  GatherEngine(const GatherEngine&) = delete;
  GatherEngine& operator=(const GatherEngine&) = delete;

  // Repacks the HWIO filter [R, S, C_g, K]. Must run before ComputeRows.
  void PackFilter(const Elem* filter_hwio) { packed_.Pack(filter_hwio); }
  // The same in parts that threads may run at once: PackParts(filter, b, e)
  // for disjoint ranges covering [0, NumPackParts()), then
  // FinishPacking(the AND of their results).
  int64_t NumPackParts() const { return packed_.NumParts(); }
  int64_t PackPartElements() const { return packed_.PartElements(); }
  bool PackParts(const Elem* filter_hwio, int64_t begin, int64_t end) {
    return packed_.PackParts(filter_hwio, begin, end);
  }
  void FinishPacking(bool finite) { packed_.set_finite(finite); }

  // A range [begin, end) of each group's channel blocks (NR channels each).
  struct ChannelBlocks {
    int64_t begin, end;
  };
  ChannelBlocks AllChannelBlocks() const;
  // Part `part` of `parts` of the channel blocks, as even as can be.
  ChannelBlocks ChannelSplit(int64_t part, int64_t parts) const;
  // Into how many parts to split the channel blocks for `threads` threads:
  // 1 while there are row blocks enough for every thread; more when rows
  // are few (batch 1, small maps), so that each thread reads only its own
  // channels' packed panels. Only where ComputeRows may write a channel
  // range alone (dx and dy in place).
  int64_t ChannelSplitsFor(int threads) const;

  // The unit of parallel work is one dx row (n, h): units own disjoint dx.
  // (Units are numbered n * H + h, or h * N + n where tiles run across
  // images: only ComputeRows interprets them, so callers just cover them.)
  int64_t NumRowUnits() const { return params_.batch * params_.in_rows; }
  // Multiply-adds per row unit, for sizing shards.
  double MacsPerRowUnit() const;
  // Rows a call to ComputeRows should span so that each packed panel it
  // reads from memory serves at least kReusePixels pixels of its phase.
  int64_t RowsForPanelReuse() const;

  // Writes dx rows [begin, end) (unit = n * in_rows + h) exactly once.
  // Thread-safe: all scratch is local to the call. A longer range reuses
  // each packed panel over more rows (see ComputeBlock).
  void ComputeRows(const RowIO<Acc, Elem>& io, int64_t begin, int64_t end) const {
    ComputeRows(io, begin, end, AllChannelBlocks());
  }
  // Only the channels of `blocks` of every group (dx and dy must be in place
  // for a part of the channels: staged rows are stored whole).
  void ComputeRows(const RowIO<Acc, Elem>& io, int64_t begin, int64_t end,
                   const ChannelBlocks& blocks) const;

  const MicroKernel<Acc, Elem>& kernel() const { return kernel_; }
  // Whether in-place dx rows are written with the kernel's streaming stores:
  // by default when dx is at least kStreamDxBytes. The tester forces both.
  void set_stream_dx(bool on) { stream_dx_ = on && kernel_.stream_fn != nullptr; }
  // Bytes of the packed filter (the engine's only sizeable allocation).
  int64_t PackedBytes() const { return packed_.bytes(); }

 private:
  // One dx row of a row phase within a block: image n, phase-local row i,
  // its valid row taps [tap_begin, tap_end) and where it is computed.
  struct PhaseRow {
    int64_t n, i, tap_begin, tap_end;
    Acc* dx;
  };
  struct Scratch;
  // Rows [begin, end), row phase by row phase; within a phase, each chunk
  // of channel blocks over every row before the next chunk.
  void ComputeBlock(const RowIO<Acc, Elem>& io, int64_t begin, int64_t end,
                    const ChannelBlocks& blocks, Scratch* scratch) const;
  void ZeroPhaseColumns(Acc* dx_row, int64_t col_phase, const ChannelBlocks& blocks) const;
  // The channels of `blocks` within each group: [*first, *first + *count).
  void ChannelsOf(const ChannelBlocks& blocks, int64_t* first, int64_t* count) const;
  // Small maps with images enough: tiles of the same pixel across images
  // (gather_engine_across_images.cc). The work units are then ordered
  // position-major (unit u: image u % N of dx row u / N); only for dy and dx
  // in place.
  bool TilesAcrossImages() const;
  void ComputeAcrossImages(const RowIO<Acc, Elem>& io, int64_t begin, int64_t end,
                           const ChannelBlocks& blocks, const Elem** slots) const;
  // Scalar tile that skips taps outside dy instead of multiplying the zero
  // row: used only when the filter holds Inf or NaN, where 0 * w is NaN but
  // TensorFlow's result (which never reads outside dy) is not.
  void SkipZeroRowTile(int64_t taps, int64_t depth, const Elem* const* rows,
                       const Elem* packed, Acc* out, int64_t out_pixel_stride,
                       int m_valid, int n_valid, int64_t taps_per_run,
                       int64_t run_stride) const;
  // Whether column phase b's taps can be merged: they read consecutive dy
  // pixels (AxisPlan::ReadsConsecutive), a dy pixel is exactly the K_g
  // values a tap reads (one group), and a tap's packed weights are exactly
  // K_g steps (no depth padding). Then the S taps of a pixel read S * K_g
  // consecutive dy values against S * K_g consecutive packed steps: one tap
  // of that depth, so the kernel reloads its row pointers once per row tap
  // instead of once per tap, and a tile's indirection shrinks S times.
  bool MergesColumnTaps(int64_t b) const;
  int64_t MaxRowTaps() const;
  int64_t MaxTapsPerPhase() const;

  ConvProblem params_;
  MicroKernel<Acc, Elem> kernel_;
  AxisPlan row_plan_;
  AxisPlan col_plan_;
  PackedFilter<Elem> packed_;   // after the plans: it refers to them
  // Per column phase: whether a pixel's column taps inside dy are read as
  // one tap of their combined depth (MergesColumnTaps).
  std::vector<char> merged_cols_;
  // The row read outside dy: K_g zeros, times the longest merged run of
  // column taps (a merged tap reads run * K_g values from it).
  std::vector<Elem> zero_row_;
  int64_t chunk_blocks_ = 1;    // channel blocks whose panels are swept together
  bool stream_dx_ = false;      // kernel_.stream_fn and dx >= kStreamDxBytes
};

#define TFCO_DECLARE_ENGINE(Acc, Elem) extern template class GatherEngine<Acc, Elem>;
TF_CUSTOM_OP_ENGINE_TYPES(TFCO_DECLARE_ENGINE)
#undef TFCO_DECLARE_ENGINE

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_GATHER_ENGINE_H_
