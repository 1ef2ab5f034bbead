// The Winograd engine: the CPU plan that does fewer multiplications than a
// direct convolution, for layers whose phases are dense correlations of 2
// or 3 taps per axis (3x3 stride 1, 4x4 stride 2, 5x5 stride 2, 3x3 stride
// 2, 2x2 phases; a phase with one tap along an axis takes no transform
// there).
//
// After the phase decomposition (phase_plan.h), each (row phase, column
// phase) of dx is a stride-1 correlation of dy with that phase's taps.
// Its output is cut into tiles of m_r x m_c pixels; per tile,
//   V = BT d B     (data transform of the alpha_r x alpha_c dy pixels, per k)
//   M = V . U      (alpha_r * alpha_c GEMMs over K: U the transformed filter)
//   Y = AT M A     (output transform, per channel)
// (winograd_transform.h builds AT, G and BT; winograd_tile.h applies them
// with each tier's vectors). The GEMMs run on the direct engine's micro-
// kernels (micro_kernel.h) with one tap of depth K: the transformed tiles
// are rows of K values, which is what a kernel's indirection reads, and the
// transformed filter is packed in the kernel's panel layout (PackedIndex).
// The three steps are fused over blocks of tiles (a few MB of V and M per
// thread, WinogradEngine::TilesPerBlock), so no tensor-sized buffer appears.
//
// Work units are bands of dx rows (m_r phase rows of every row phase);
// units own disjoint dx rows, and each output pixel is computed by one tile
// in a fixed order, so results do not depend on the thread count.
//
// Float only (dy rows and dx rows through RowIO<float>: half and bfloat16
// are transformed in float). A tile whose transformed data holds Inf or NaN
// is computed directly instead, skipping taps outside dy as TensorFlow
// does; a filter with Inf or NaN is refused (PackParts says so) and the op
// uses the direct engine. Free of TensorFlow headers.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_WINOGRAD_ENGINE_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_WINOGRAD_ENGINE_H_

#include <cstdint>
#include <vector>

#include "cc/kernels/conv_params.h"
#include "cc/kernels/cpu/buffer_pool.h"
#include "cc/kernels/cpu/conv_algorithm.h"
#include "cc/kernels/cpu/micro_kernel.h"
#include "cc/kernels/cpu/row_io.h"
#include "cc/kernels/cpu/winograd_kernel.h"
#include "cc/kernels/cpu/winograd_transform.h"
#include "cc/kernels/phase_plan.h"

namespace tf_custom_op {

// Taps per phase per axis the engine transforms (F(m, 2) to F(m, 5)).
constexpr int kWinogradMaxTaps = 5;

// Output pixels per tile along each axis: 4 or 2 (WinogradEngine::TileFor).
// The float error grows with the tile's alpha = m + taps - 1 and with the
// reduction's length K. Measured with `build/cpu_engine_bench ... winograd
// [t<tile>] accuracy` (largest error against the float64 engine, of max|dx|,
// normal and mixed-magnitude data; Intel Xeon, AVX-512):
//   F(4, 3), alpha 6: K 64 7.1e-6, 128 8.8e-6, 256 1.29e-5, 512 1.6e-5 to
//                     1.8e-5, 1024 3.2e-5 (over the 2e-5 bound)
//   F(4, 2), alpha 5: K 512 1.0e-5, 1024 1.4e-5
//   F(2, 5), alpha 6: K 256 9e-6, 512 9.6e-6
//   F(2, 3), alpha 4: K 512 9.4e-7, 1024 1.2e-6 (as direct convolution)
// so a tile is allowed up to the K below, keeping a third of the bound as
// margin for data less kind than these.
struct WinogradTileLimit {
  int tile;       // m
  int max_alpha;  // of the layer's largest phase
  int64_t max_depth;
};
constexpr WinogradTileLimit kWinogradTileLimits[] = {
    {4, 5, 512},
    {4, 6, 256},
    {2, 4, int64_t{1} << 40},
    {2, 6, 512},
};
// Tiles of 4 are taken over tiles of 2 only where their GEMMs are at most
// this fraction of the tiles of 2's: their transforms cost more per pixel,
// and on maps that are not a multiple of 4 their edge tiles waste more
// (vgg16_3x3_512_14: tiles of 2 as fast as tiles of 4, 14x14 maps).
constexpr double kWinogradWideTileGain = 0.8;

// Bytes of transformed data and GEMM results (V and M) one block of tiles
// holds, the bulk of a thread's scratch. A point's V and M (a block's share
// of them) stay in L2 while its GEMM sweeps the channel blocks, and each
// point's transformed filter, read from memory once per block, serves every
// tile of it (at least 4 MR tiles). Measured with `build/cpu_engine_bench`
// (one thread) at 2, 4, 8, 16 and 32 MB: within the noise for 3x3 layers;
// 4x4 stride 2 (dcgan64_g2: 52 MB of transformed filter) needs the tiles:
// at 4 MB (48 tiles) no faster than direct (102 against 97-112 ms), at
// 8 MB (96 tiles) 72-84 ms, and at 32 MB (all 256 tiles of a phase, the
// size of dx) its GEMMs took a third less time again. 8 MB per thread is
// the compromise.
constexpr int64_t kWinogradBlockBytes = 8 << 20;

// The selection rule's thresholds (WinogradEngine::Chosen), from the whole
// corpus measured with `python -m tf_custom_op.benchmark` (docs/BENCHMARKS.md,
// "Winograd"; Xeon, 2 threads) with the rule at 32 channels and a fraction
// of 0.5 everywhere:
// - 3x3 stride-1 layers (GEMMs 0.25-0.33 of direct) won from 32 channels
//   up: unet_b2_3x3_c32_256 1.00x -> 1.07x TF, espcn_3x3_64 1.58x;
// - 4x4 and 5x5 stride-2 layers (0.39) lost with 32-64 channels
//   (b1_up4x4_c64 1.00x -> 0.92x, b1_5x5_s2_c32 1.04x -> 0.94x) and won
//   with 256-512 (dcgan64_g2 1.23x);
// - a batch-1 layer with 4 tiles per phase (pix2pix_d_512, K 1024) fell to
//   0.20x: its filter transform (alpha^2 C K per phase) is never amortized.
// A second whole-corpus run with that rule and the tiles of TileFor:
// - tfdcgan_g1 (5x5 stride 1 on 7x7 maps, F(2, 5), GEMMs 0.47 of direct)
//   1.16x -> 1.10x, and b1_5x5_s2_c32 (32 channels, 0.30) 1.04x -> 0.96x:
//   both back to direct with the thresholds below; dcgan64_g2 (0.39, 256
//   and 512 channels) stays at 1.19x-1.23x.
// A third run (fourth session) forced Winograd on the 3x3 stride-2 layers
// with 256 channels (GEMMs 0.69 of direct by GemmFraction), two interleaved
// runs each against direct convolution:
// stylegan_up3x3_s2_c256 (C 256, K 512) 0.87x / 0.96x -> 1.08x / 1.03x TF
// (one thread: 27 -> 23 ms), r50_3x3_s2_c256 (C 256, K 256) 1.20x /
// 1.21x -> 1.07x / 1.03x (one thread: 36.7 -> 37.9 ms), and
// cyclegan_up3x3_s2_c64 (64, 64) 1.07x / 1.01x -> 0.80x / 0.74x. Per point
// of a tile the transforms cost about what K + C multiply-adds do, the GEMM
// K x C: Winograd pays where 1/C + 1/K, the transforms' share, is small.
constexpr int64_t kWinogradMinDepth = 32;         // fraction <= kWinogradLeanFraction
constexpr int64_t kWinogradMinDepthWide = 128;    // fraction up to kWinogradMaxGemmFraction
constexpr double kWinogradLeanFraction = 0.3;
constexpr double kWinogradMaxGemmFraction = 0.45;
// Fraction up to kWinogradDeepFraction where 1/C + 1/K is at most this
// (C 256 with K 512 and more: 1/160 lies between stylegan's 1/171 and
// r50_3x3_s2_c256's 1/128).
constexpr double kWinogradDeepTransformShare = 1.0 / 160;
constexpr double kWinogradDeepFraction = 0.7;
constexpr int64_t kWinogradMinTiles = 48;          // tiles per phase, all images

class WinogradEngine {
 public:
  // Whether the engine can compute `p` within the error bound: one group,
  // every phase a dense correlation (consecutive taps read consecutive dy
  // pixels) of at most kWinogradMaxTaps taps per axis, and a tile
  // (TileFor) whose error stays within the bound at `p`'s K. Cheap.
  static bool ShapeSuits(const ConvProblem& p);
  // The selection rule of the "auto" setting: ShapeSuits; GEMMs of at most
  // kWinogradLeanFraction of the direct multiply-adds with kWinogradMinDepth
  // channels on both sides, of at most kWinogradMaxGemmFraction with
  // kWinogradMinDepthWide (the transforms cost per value what the GEMMs cost
  // per value and channel), or of at most kWinogradDeepFraction where
  // 1/C + 1/K is at most kWinogradDeepTransformShare; and kWinogradMinTiles
  // tiles per phase, over
  // which the filter transform is spread.
  static bool Chosen(const ConvProblem& p);
  // Whether a float call runs here under the op's `algorithm` attribute
  // (conv_algorithm.h: TF_CUSTOM_OP_ALGORITHM where it is auto): Chosen
  // for auto, ShapeSuits for winograd, never for direct.
  static bool Selected(const ConvProblem& p, ConvAlgorithm attr);

  // The tile (m along both axes) for `p`: the one with the fewest GEMM
  // multiply-adds among those kWinogradTileLimits allows for its largest
  // phase and its K, tiles of 4 only by kWinogradWideTileGain; 0 where none
  // keeps the error within the bound (then the engine does not serve `p`).
  static int TileFor(const ConvProblem& p);

  // `params` must describe a validated, non-empty problem that ShapeSuits;
  // `tile` is m along both axes (0: TileFor(params)).
  WinogradEngine(const ConvProblem& params, const MicroKernel<float>& gemm,
                 const WinogradKernel& transforms, int tile = 0);
  WinogradEngine(const WinogradEngine&) = delete;
  WinogradEngine& operator=(const WinogradEngine&) = delete;

  // The filter transform U = G g G^T of every phase, in parts (phase pair,
  // channel block) that threads may compute at once; each returns false
  // when its weights hold Inf or NaN (the caller must then use the direct
  // engine). Computed with the tier's vectors over k, then transposed into
  // the micro-kernel's panels.
  int64_t NumPackParts() const { return static_cast<int64_t>(part_phase_.size()) * channel_blocks_; }
  double PackPartWork() const;
  bool PackParts(const float* filter_hwio, int64_t begin, int64_t end);

  // Work units: bands of dx rows, numbered n * bands + band.
  int64_t NumRowUnits() const { return params_.batch * bands_; }
  // Multiply-adds a unit costs (transforms counted as the GEMM sees them).
  double MacsPerRowUnit() const;
  // Units a call should span so that its blocks of tiles are full.
  int64_t MinRowsPerCall() const { return units_per_pass_; }

  // Writes the dx rows of units [begin, end) exactly once. `filter_hwio` is
  // the filter PackParts read (tiles whose dy holds Inf or NaN are computed
  // from it directly). Thread-safe: all scratch is local to the call.
  void ComputeRows(const RowIO<float>& io, const float* filter_hwio, int64_t begin,
                   int64_t end) const;

  // Multiply-adds of the GEMMs per multiply-add of a direct convolution
  // (the tiles past dx's edge included): what the selection weighs.
  double GemmFraction() const;
  int tile() const { return tile_; }
  // Bytes of the transformed filter (allocated by the constructor), and of
  // the scratch one ComputeRows call allocates (V, M, and the staged dy and
  // dx rows where they are not read or written in place).
  int64_t PackedBytes() const { return packed_size_ * static_cast<int64_t>(sizeof(float)); }
  int64_t ScratchBytes(bool dy_in_place, bool dx_in_place) const;
  const MicroKernel<float>& gemm() const { return gemm_; }
  const WinogradKernel& transforms() const { return transforms_; }

 private:
  // One phase of one axis: its dx positions, its taps in correlation order
  // (increasing dy offset) and their transform.
  struct AxisPhasePlan {
    int64_t count = 0;         // dx positions of the phase
    int taps = 0;              // 0: the phase reads no dy (dx is zero there)
    int64_t first_offset = 0;  // dy index of a tile's first input - its first output
    std::vector<int64_t> tap_of;  // filter index of correlation position j
    AxisTransform transform;
  };
  struct Tile {
    int64_t unit;    // the band (n * bands + band) it lies in
    int64_t col0;    // its first phase-local column
  };
  struct Scratch;
  // What the selection reads of a problem, computed once: the tile (0 where
  // the engine does not serve it), its GEMM fraction and tiles per phase.
  struct Assessment {
    int tile = 0;
    double fraction = 1.0;
    int64_t tiles = 0;
  };
  static Assessment Assess(const ConvProblem& p);
  static std::vector<AxisPhasePlan> PlanAxis(const AxisPlan& plan, int tile);
  static double GemmFractionOf(const std::vector<AxisPhasePlan>& rows,
                               const std::vector<AxisPhasePlan>& cols, int tile);
  void ComputePass(const float* filter_hwio, int64_t begin, int64_t end, Scratch* scratch) const;
  void ComputeBlock(int64_t row_phase, int64_t col_phase, const Tile* tiles, int64_t count,
                    int64_t pass_begin, const float* filter_hwio, Scratch* scratch) const;
  // The tile's dx pixel pointers (null past the phase's edge).
  void OutputPointers(int64_t row_phase, int64_t col_phase, const Tile& tile,
                      int64_t pass_begin, Scratch* scratch) const;
  // The tile's pixels as direct sums over the taps inside dy.
  void DirectTile(int64_t row_phase, int64_t col_phase, const Tile& tile,
                  const float* filter_hwio, Scratch* scratch) const;
  const float* PackedPhase(int64_t row_phase, int64_t col_phase) const;
  // Staged dy rows a call keeps (where dy is not read in place).
  int64_t DySlots() const;

  ConvProblem params_;
  const MicroKernel<float>& gemm_;
  const WinogradKernel& transforms_;
  int tile_;
  std::vector<AxisPhasePlan> rows_, cols_;
  int64_t channel_blocks_ = 0;
  int64_t bands_ = 0;           // bands of m_r phase rows per image
  int64_t band_rows_ = 0;       // dx rows of a band: m_r * stride_rows
  int64_t tiles_per_block_ = 0; // tiles a block transforms together
  int64_t units_per_pass_ = 1;  // bands a pass covers (its blocks are then full)
  int64_t depth_stride_ = 0;    // K rounded up to 16: V's tile stride
  int64_t channel_stride_ = 0;  // C rounded up to 16: M's tile stride
  int max_alpha2_ = 0;          // the largest alpha_r * alpha_c of a phase pair
  std::vector<int64_t> part_phase_;    // phase pair (a * col phases + b) of each packed phase
  std::vector<int64_t> phase_offset_;  // where each phase pair's panels start (-1: none)
  // Each phase pair's data and output transforms: a fixed one of the tier
  // where its matrices are among kWinogradFixedKeys, else the generic one.
  std::vector<WinogradTransformFn> data_fn_, output_fn_;
  std::vector<float> zero_row_;        // K zeros: dy outside its edges
  int64_t packed_size_ = 0;
  PooledBuffer storage_;
  float* packed_ = nullptr;
};

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_WINOGRAD_ENGINE_H_
