#include "cc/kernels/cpu/winograd_engine.h"

#include <algorithm>
#include <cmath>

#include "cc/kernels/cpu/dy_row_cache.h"
#include "cc/kernels/cpu/float_transpose.h"

namespace tf_custom_op {
namespace {

int64_t RoundUp(int64_t value, int64_t step) { return (value + step - 1) / step * step; }

// V and M rows start on 64-byte lines (16 floats) whatever K and C are.
constexpr int64_t kLineFloats = 16;

// Whether the taps of every phase of `plan` read consecutive dy pixels
// (offsets falling by exactly one from tap to tap) and are at most
// kWinogradMaxTaps: then each phase is a dense stride-1 correlation.
bool DenseAxis(const AxisPlan& plan) {
  for (const AxisPhase& phase : plan.phases) {
    if (phase.num_taps > kWinogradMaxTaps) return false;
    for (int64_t s = 1; s < phase.num_taps; ++s) {
      const int64_t step = plan.taps[phase.first_tap_slot + s - 1].offset -
                           plan.taps[phase.first_tap_slot + s].offset;
      if (step != 1) return false;
    }
  }
  return true;
}

// The tier's fixed transform for a phase of `taps_r` x `taps_c` taps with
// tiles of `tile` where kWinogradFixedKeys has one, else its generic one.
WinogradTransformFn FixedOr(const WinogradKernel& kernel, int tile, int taps_r, int taps_c,
                            bool output) {
  if (taps_r == taps_c) {
    for (int i = 0; i < kWinogradFixedCount; ++i) {
      const WinogradFixedKey& key = kWinogradFixedKeys[i];
      if (key.m == tile && key.taps == taps_r && key.output == output) return kernel.fixed[i];
    }
  }
  return kernel.transform;
}

}  // namespace

struct WinogradEngine::Scratch {
  Scratch(const RowIO<float>& io, int64_t dy_slots, int64_t dy_row_elements)
      : dy(io, dy_slots, dy_row_elements) {}
  DyRowCache<float, float> dy;
  PooledBuffer v_storage, m_storage, dx_storage;
  float* v = nullptr;   // [xi][tile][depth_stride_]
  float* m = nullptr;   // [xi][tile][channel_stride_]
  float* dx = nullptr;  // the pass's dx rows, where dx is not written in place
  bool dx_in_place = true;
  const RowIO<float>* io = nullptr;
  std::vector<const float*> pixels;  // one tile's dy pixels (or GEMM results), by point
  std::vector<float*> points;        // one tile's transformed data, by point
  std::vector<float*> out;           // one tile's dx pixels, m_r x m_c
  std::vector<const float*> rows;    // one point's V rows, a block's tiles
  std::vector<char> direct;          // tiles computed directly (non-finite data)
  std::vector<Tile> tiles;           // the tiles of one phase pair of a pass
};

WinogradEngine::Assessment WinogradEngine::Assess(const ConvProblem& p) {
  Assessment out;
  const AxisPlan row_plan = RowPlanOf(p), col_plan = ColPlanOf(p);
  if (p.groups != 1 || !DenseAxis(row_plan) || !DenseAxis(col_plan)) return out;
  int64_t most = 0;
  for (const AxisPlan* plan : {&row_plan, &col_plan}) {
    for (const AxisPhase& phase : plan->phases) most = std::max(most, phase.num_taps);
  }
  auto allowed = [&](int tile) {
    for (const WinogradTileLimit& limit : kWinogradTileLimits) {
      if (limit.tile == tile && tile + most - 1 <= limit.max_alpha &&
          p.out_depth <= limit.max_depth) {
        return true;
      }
    }
    return false;
  };
  // A tile's GEMM fraction and its tiles per phase, over all images.
  auto assess = [&](int tile) {
    const std::vector<AxisPhasePlan> rows = PlanAxis(row_plan, tile);
    const std::vector<AxisPhasePlan> cols = PlanAxis(col_plan, tile);
    const int64_t tiles =
        p.batch * ((rows[0].count + tile - 1) / tile) * ((cols[0].count + tile - 1) / tile);
    return Assessment{tile, GemmFractionOf(rows, cols, tile), tiles};
  };
  const bool wide = allowed(4), narrow = allowed(2);
  if (wide && narrow) {
    const Assessment four = assess(4), two = assess(2);
    return four.fraction <= kWinogradWideTileGain * two.fraction ? four : two;
  }
  return wide ? assess(4) : narrow ? assess(2) : out;
}

int WinogradEngine::TileFor(const ConvProblem& p) { return Assess(p).tile; }

bool WinogradEngine::ShapeSuits(const ConvProblem& p) { return Assess(p).tile > 0; }

std::vector<WinogradEngine::AxisPhasePlan> WinogradEngine::PlanAxis(const AxisPlan& plan,
                                                                    int tile) {
  std::vector<AxisPhasePlan> out(plan.phases.size());
  for (size_t a = 0; a < plan.phases.size(); ++a) {
    const AxisPhase& phase = plan.phases[a];
    AxisPhasePlan& axis = out[a];
    axis.count = phase.count;
    axis.taps = static_cast<int>(phase.num_taps);
    if (axis.taps == 0) continue;
    // The plan lists taps by falling offset; correlation position j reads
    // dy at (first output + first_offset + j): the last slot comes first.
    const AxisTap* taps = plan.taps.data() + phase.first_tap_slot;
    axis.first_offset = taps[phase.num_taps - 1].offset;
    for (int64_t j = 0; j < phase.num_taps; ++j) {
      axis.tap_of.push_back(taps[phase.num_taps - 1 - j].tap);
    }
    MakeAxisTransform(tile, axis.taps, &axis.transform);
  }
  return out;
}

WinogradEngine::WinogradEngine(const ConvProblem& params, const MicroKernel<float>& gemm,
                               const WinogradKernel& transforms, int tile)
    : params_(params), gemm_(gemm), transforms_(transforms),
      tile_(tile > 0 ? tile : TileFor(params)) {
  rows_ = PlanAxis(RowPlanOf(params), tile_);
  cols_ = PlanAxis(ColPlanOf(params), tile_);
  const int64_t C = params.in_depth, K = params.out_depth;
  channel_blocks_ = (C + gemm.nr - 1) / gemm.nr;
  bands_ = (rows_[0].count + tile_ - 1) / tile_;
  band_rows_ = tile_ * params.stride_rows;
  depth_stride_ = RoundUp(K, kLineFloats) + kLineFloats;
  channel_stride_ = RoundUp(C, kLineFloats);

  int64_t offset = 0;
  for (size_t a = 0; a < rows_.size(); ++a) {
    for (size_t b = 0; b < cols_.size(); ++b) {
      data_fn_.push_back(FixedOr(transforms, tile_, rows_[a].taps, cols_[b].taps, false));
      output_fn_.push_back(FixedOr(transforms, tile_, rows_[a].taps, cols_[b].taps, true));
      if (rows_[a].taps == 0 || cols_[b].taps == 0) {
        phase_offset_.push_back(-1);
        continue;
      }
      const int alpha2 = rows_[a].transform.alpha * cols_[b].transform.alpha;
      max_alpha2_ = std::max(max_alpha2_, alpha2);
      phase_offset_.push_back(offset);
      part_phase_.push_back(static_cast<int64_t>(a * cols_.size() + b));
      offset += alpha2 * channel_blocks_ * K * gemm.nr;
    }
  }
  packed_size_ = offset;
  storage_ = PooledBuffer(static_cast<size_t>(std::max<int64_t>(packed_size_, 1)) * sizeof(float));
  packed_ = static_cast<float*>(storage_.data());
  zero_row_.assign(static_cast<size_t>(K), 0.0f);

  // As many tiles as keep V and M within kWinogradBlockBytes, in whole
  // micro-kernel tiles (a partial one computes MR rows anyway).
  const int64_t mr = gemm.mr;
  const int64_t tile_bytes =
      std::max(1, max_alpha2_) * (depth_stride_ + channel_stride_) * static_cast<int64_t>(sizeof(float));
  tiles_per_block_ = std::clamp<int64_t>(kWinogradBlockBytes / tile_bytes / mr * mr, 4 * mr, 16 * mr);
  const int64_t tiles_per_band = (cols_[0].count + tile_ - 1) / tile_;
  units_per_pass_ = std::max<int64_t>(1, (tiles_per_block_ + tiles_per_band - 1) / tiles_per_band);
}

double WinogradEngine::PackPartWork() const {
  return static_cast<double>(max_alpha2_) * params_.out_depth * gemm_.nr * kWinogradMaxTaps;
}

bool WinogradEngine::PackParts(const float* filter_hwio, int64_t begin, int64_t end) {
  const int64_t C = params_.in_depth, K = params_.out_depth, S = params_.filter_cols;
  const int64_t nr = gemm_.nr;
  const FloatTransposeFn transpose = SelectFloatTranspose();
  // One channel block's transformed weights as [xi][channel][k] (vectors over
  // k, as the filter is laid out), then transposed to the panel's [k][channel].
  // Every element is written before it is read: uninitialized, from the pool.
  const PooledBuffer staging(static_cast<size_t>(max_alpha2_ * nr * K) * sizeof(float));
  float* const staged = static_cast<float*>(staging.data());
  const float* taps[kWinogradMaxTaps * kWinogradMaxTaps];
  float* outputs[kMaxAlpha * kMaxAlpha];
  bool finite = true;
  for (int64_t part = begin; part < end; ++part) {
    const int64_t pair = part_phase_[static_cast<size_t>(part / channel_blocks_)];
    const int64_t cb = part % channel_blocks_;
    const AxisPhasePlan& rp = rows_[static_cast<size_t>(pair / cols_.size())];
    const AxisPhasePlan& cp = cols_[static_cast<size_t>(pair % cols_.size())];
    const int alpha2 = rp.transform.alpha * cp.transform.alpha;
    const int64_t channels = std::min(nr, C - cb * nr);
    for (int64_t l = 0; l < nr; ++l) {
      if (l >= channels) {
        // Past C: zero weights, so the kernel's padding lanes compute zeros.
        for (int xi = 0; xi < alpha2; ++xi) {
          std::fill_n(staged + (xi * nr + l) * K, K, 0.0f);
        }
        continue;
      }
      const int64_t c = cb * nr + l;
      for (int jr = 0; jr < rp.taps; ++jr) {
        for (int jc = 0; jc < cp.taps; ++jc) {
          taps[jr * cp.taps + jc] = filter_hwio + ((rp.tap_of[jr] * S + cp.tap_of[jc]) * C + c) * K;
        }
      }
      for (int xi = 0; xi < alpha2; ++xi) outputs[xi] = staged + (xi * nr + l) * K;
      finite = transforms_.transform(taps, K, rp.transform.g, cp.transform.g, outputs) && finite;
    }
    float* panel = packed_ + phase_offset_[static_cast<size_t>(pair)] + cb * alpha2 * K * nr;
    for (int xi = 0; xi < alpha2; ++xi) {
      transpose(staged + xi * nr * K, K, nr, K, panel + xi * K * nr, nr);
    }
  }
  return finite;
}

double WinogradEngine::MacsPerRowUnit() const {
  double macs = 0.0;
  for (const AxisPhasePlan& rp : rows_) {
    for (const AxisPhasePlan& cp : cols_) {
      if (rp.taps == 0 || cp.taps == 0) continue;
      const int64_t tiles = (cp.count + tile_ - 1) / tile_;
      macs += static_cast<double>(tiles) * rp.transform.alpha * cp.transform.alpha *
              params_.out_depth * params_.in_depth;
    }
  }
  return macs;
}

double WinogradEngine::GemmFraction() const { return GemmFractionOf(rows_, cols_, tile_); }

double WinogradEngine::GemmFractionOf(const std::vector<AxisPhasePlan>& rows,
                                      const std::vector<AxisPhasePlan>& cols, int tile) {
  double winograd = 0.0, direct = 0.0;
  for (const AxisPhasePlan& rp : rows) {
    for (const AxisPhasePlan& cp : cols) {
      if (rp.taps == 0 || cp.taps == 0) continue;
      const double tiles = static_cast<double>((rp.count + tile - 1) / tile) *
                           static_cast<double>((cp.count + tile - 1) / tile);
      winograd += tiles * rp.transform.alpha * cp.transform.alpha;
      direct += static_cast<double>(rp.count) * cp.count * rp.taps * cp.taps;
    }
  }
  return direct > 0.0 ? winograd / direct : 1.0;
}

bool WinogradEngine::Chosen(const ConvProblem& p) {
  const int64_t depth = std::min(p.in_depth, p.out_depth);
  if (depth < kWinogradMinDepth) return false;
  const Assessment a = Assess(p);
  if (a.tile == 0 || a.tiles < kWinogradMinTiles) return false;
  return a.fraction <= kWinogradLeanFraction ||
         (a.fraction <= kWinogradMaxGemmFraction && depth >= kWinogradMinDepthWide) ||
         (a.fraction <= kWinogradDeepFraction &&
          1.0 / p.in_depth + 1.0 / p.out_depth <= kWinogradDeepTransformShare);
}

bool WinogradEngine::Selected(const ConvProblem& p, ConvAlgorithm attr) {
  switch (EffectiveAlgorithm(attr)) {
    case ConvAlgorithm::kAuto:
      return Chosen(p);
    case ConvAlgorithm::kWinograd:
      return ShapeSuits(p);
    case ConvAlgorithm::kDirect:
      break;
  }
  return false;
}

const float* WinogradEngine::PackedPhase(int64_t row_phase, int64_t col_phase) const {
  return packed_ + phase_offset_[static_cast<size_t>(row_phase * cols_.size() + col_phase)];
}

int64_t WinogradEngine::DySlots() const { return units_per_pass_ * (tile_ + kWinogradMaxTaps + 2); }

int64_t WinogradEngine::ScratchBytes(bool dy_in_place, bool dx_in_place) const {
  int64_t floats = max_alpha2_ * tiles_per_block_ * (depth_stride_ + channel_stride_);
  if (!dy_in_place) floats += DySlots() * params_.out_cols * params_.out_depth;
  if (!dx_in_place) floats += units_per_pass_ * band_rows_ * params_.in_cols * params_.in_depth;
  return floats * static_cast<int64_t>(sizeof(float));
}

void WinogradEngine::ComputeRows(const RowIO<float>& io, const float* filter_hwio,
                                 int64_t begin, int64_t end) const {
  const int64_t dy_slots = DySlots();
  Scratch scratch(io, dy_slots, params_.out_cols * params_.out_depth);
  scratch.io = &io;
  scratch.dx_in_place = io.DxRowInPlace(0, 0) != nullptr;
  const size_t block = static_cast<size_t>(max_alpha2_ * tiles_per_block_);
  scratch.v_storage = PooledBuffer(block * static_cast<size_t>(depth_stride_) * sizeof(float));
  scratch.m_storage = PooledBuffer(block * static_cast<size_t>(channel_stride_) * sizeof(float));
  scratch.v = static_cast<float*>(scratch.v_storage.data());
  scratch.m = static_cast<float*>(scratch.m_storage.data());
  if (!scratch.dx_in_place) {
    const size_t pass_dx = static_cast<size_t>(units_per_pass_ * band_rows_ * params_.in_cols *
                                               params_.in_depth);
    scratch.dx_storage = PooledBuffer(pass_dx * sizeof(float));
    scratch.dx = static_cast<float*>(scratch.dx_storage.data());
  }
  scratch.pixels.resize(kMaxAlpha * kMaxAlpha);
  scratch.points.resize(kMaxAlpha * kMaxAlpha);
  scratch.out.resize(static_cast<size_t>(tile_ * tile_));
  scratch.rows.resize(static_cast<size_t>(tiles_per_block_ + gemm_.mr));
  scratch.direct.resize(static_cast<size_t>(tiles_per_block_));
  for (int64_t first = begin; first < end; first += units_per_pass_) {
    ComputePass(filter_hwio, first, std::min(end, first + units_per_pass_), &scratch);
  }
}

void WinogradEngine::ComputePass(const float* filter_hwio, int64_t begin, int64_t end,
                                 Scratch* scratch) const {
  const int64_t C = params_.in_depth;
  for (size_t a = 0; a < rows_.size(); ++a) {
    for (size_t b = 0; b < cols_.size(); ++b) {
      const AxisPhasePlan& rp = rows_[a];
      const AxisPhasePlan& cp = cols_[b];
      scratch->tiles.clear();
      for (int64_t unit = begin; unit < end; ++unit) {
        if ((unit % bands_) * tile_ >= rp.count) continue;  // this phase has fewer rows
        for (int64_t col0 = 0; col0 < cp.count; col0 += tile_) {
          scratch->tiles.push_back(Tile{unit, col0});
        }
      }
      if (rp.taps == 0 || cp.taps == 0) {
        // No tap reaches this phase: its dx pixels are zero.
        for (const Tile& tile : scratch->tiles) {
          OutputPointers(static_cast<int64_t>(a), static_cast<int64_t>(b), tile, begin, scratch);
          for (float* pixel : scratch->out) {
            if (pixel != nullptr) std::fill(pixel, pixel + C, 0.0f);
          }
        }
        continue;
      }
      const int64_t count = static_cast<int64_t>(scratch->tiles.size());
      for (int64_t t0 = 0; t0 < count; t0 += tiles_per_block_) {
        ComputeBlock(static_cast<int64_t>(a), static_cast<int64_t>(b),
                     scratch->tiles.data() + t0, std::min(tiles_per_block_, count - t0), begin,
                     filter_hwio, scratch);
      }
    }
  }
  if (scratch->dx_in_place) return;
  const int64_t row_elements = params_.in_cols * C;
  for (int64_t unit = begin; unit < end; ++unit) {
    const int64_t n = unit / bands_, first_row = (unit % bands_) * band_rows_;
    const int64_t last_row = std::min(params_.in_rows, first_row + band_rows_);
    for (int64_t h = first_row; h < last_row; ++h) {
      scratch->io->StoreDxRow(
          n, h, scratch->dx + ((unit - begin) * band_rows_ + h - first_row) * row_elements);
    }
  }
}

void WinogradEngine::OutputPointers(int64_t row_phase, int64_t col_phase, const Tile& tile,
                                    int64_t pass_begin, Scratch* scratch) const {
  const AxisPhasePlan& rp = rows_[static_cast<size_t>(row_phase)];
  const AxisPhasePlan& cp = cols_[static_cast<size_t>(col_phase)];
  const int64_t n = tile.unit / bands_, band = tile.unit % bands_;
  const int64_t row0 = band * tile_, C = params_.in_depth;
  for (int i = 0; i < tile_; ++i) {
    const int64_t local_row = row0 + i;
    float* dx_row = nullptr;
    if (local_row < rp.count) {
      const int64_t h = row_phase + params_.stride_rows * local_row;
      dx_row = scratch->dx_in_place
                   ? scratch->io->DxRowInPlace(n, h)
                   : scratch->dx + ((tile.unit - pass_begin) * band_rows_ + h - band * band_rows_) *
                                       params_.in_cols * C;
    }
    for (int j = 0; j < tile_; ++j) {
      const int64_t local_col = tile.col0 + j;
      scratch->out[static_cast<size_t>(i * tile_ + j)] =
          dx_row != nullptr && local_col < cp.count
              ? dx_row + (col_phase + params_.stride_cols * local_col) * C
              : nullptr;
    }
  }
}

void WinogradEngine::ComputeBlock(int64_t row_phase, int64_t col_phase, const Tile* tiles,
                                  int64_t count, int64_t pass_begin, const float* filter_hwio,
                                  Scratch* scratch) const {
  const AxisPhasePlan& rp = rows_[static_cast<size_t>(row_phase)];
  const AxisPhasePlan& cp = cols_[static_cast<size_t>(col_phase)];
  const size_t pair = static_cast<size_t>(row_phase) * cols_.size() + static_cast<size_t>(col_phase);
  const int ar = rp.transform.alpha, ac = cp.transform.alpha;
  const int64_t P = params_.out_rows, Q = params_.out_cols;
  const int64_t K = params_.out_depth, C = params_.in_depth;
  const int64_t v_xi_stride = tiles_per_block_ * depth_stride_;
  const int64_t m_xi_stride = tiles_per_block_ * channel_stride_;

  // 1. The data transform of every tile of the block.
  bool any_direct = false;
  for (int64_t t = 0; t < count; ++t) {
    const Tile& tile = tiles[t];
    const int64_t n = tile.unit / bands_;
    const int64_t p0 = (tile.unit % bands_) * tile_ + rp.first_offset;
    const int64_t q0 = tile.col0 + cp.first_offset;
    for (int u = 0; u < ar; ++u) {
      const int64_t p = p0 + u;
      const float* dy_row = p >= 0 && p < P ? scratch->dy.Get(n, p) : nullptr;
      for (int v = 0; v < ac; ++v) {
        const int64_t q = q0 + v;
        scratch->pixels[static_cast<size_t>(u * ac + v)] =
            dy_row != nullptr && q >= 0 && q < Q ? dy_row + q * K : zero_row_.data();
      }
    }
    for (int xi = 0; xi < ar * ac; ++xi) {
      scratch->points[static_cast<size_t>(xi)] = scratch->v + xi * v_xi_stride + t * depth_stride_;
    }
    const bool finite = data_fn_[pair](scratch->pixels.data(), K, rp.transform.bt,
                                       cp.transform.bt, scratch->points.data());
    scratch->direct[static_cast<size_t>(t)] = !finite;
    any_direct = any_direct || !finite;
  }

  // 2. One GEMM per point: M[xi] (tiles x C) = V[xi] (tiles x K) U[xi] (K x C).
  const float* packed = PackedPhase(row_phase, col_phase);
  const int64_t mr = gemm_.mr, nr = gemm_.nr, plane = K * nr;
  for (int xi = 0; xi < ar * ac; ++xi) {
    // Rows past the block's last tile point at its first: some kernels
    // read all MR rows of a partial tile (and store only m_valid).
    for (int64_t t = 0; t < static_cast<int64_t>(scratch->rows.size()); ++t) {
      scratch->rows[static_cast<size_t>(t)] =
          scratch->v + xi * v_xi_stride + (t < count ? t : 0) * depth_stride_;
    }
    for (int64_t cb = 0; cb < channel_blocks_; ++cb) {
      const float* weights = packed + (cb * ar * ac + xi) * plane;
      const int n_valid = static_cast<int>(std::min(nr, C - cb * nr));
      float* m = scratch->m + xi * m_xi_stride + cb * nr;
      for (int64_t t0 = 0; t0 < count; t0 += mr) {
        gemm_.fn(1, K, scratch->rows.data() + t0, weights, m + t0 * channel_stride_,
                 channel_stride_, static_cast<int>(std::min(mr, count - t0)), n_valid, 1, 0);
      }
    }
  }

  // 3. The output transform into dx.
  for (int64_t t = 0; t < count; ++t) {
    OutputPointers(row_phase, col_phase, tiles[t], pass_begin, scratch);
    if (any_direct && scratch->direct[static_cast<size_t>(t)]) {
      DirectTile(row_phase, col_phase, tiles[t], filter_hwio, scratch);
      continue;
    }
    const float** results = scratch->pixels.data();
    for (int xi = 0; xi < ar * ac; ++xi) {
      results[xi] = scratch->m + xi * m_xi_stride + t * channel_stride_;
    }
    output_fn_[pair](results, C, rp.transform.at, cp.transform.at, scratch->out.data());
  }
}

void WinogradEngine::DirectTile(int64_t row_phase, int64_t col_phase, const Tile& tile,
                                const float* filter_hwio, Scratch* scratch) const {
  const AxisPhasePlan& rp = rows_[static_cast<size_t>(row_phase)];
  const AxisPhasePlan& cp = cols_[static_cast<size_t>(col_phase)];
  const int64_t P = params_.out_rows, Q = params_.out_cols, S = params_.filter_cols;
  const int64_t K = params_.out_depth, C = params_.in_depth;
  const int64_t n = tile.unit / bands_, row0 = (tile.unit % bands_) * tile_;
  for (int i = 0; i < tile_; ++i) {
    for (int j = 0; j < tile_; ++j) {
      float* dst = scratch->out[static_cast<size_t>(i * tile_ + j)];
      if (dst == nullptr) continue;
      for (int64_t c = 0; c < C; ++c) dst[c] = 0.0f;
      for (int jr = 0; jr < rp.taps; ++jr) {
        const int64_t p = row0 + i + rp.first_offset + jr;
        if (p < 0 || p >= P) continue;  // outside dy: skipped, as TensorFlow does
        const float* dy_row = scratch->dy.Get(n, p);
        for (int jc = 0; jc < cp.taps; ++jc) {
          const int64_t q = tile.col0 + j + cp.first_offset + jc;
          if (q < 0 || q >= Q) continue;
          const float* dy_pixel = dy_row + q * K;
          const float* w = filter_hwio + (rp.tap_of[jr] * S + cp.tap_of[jc]) * C * K;
          for (int64_t c = 0; c < C; ++c) {
            float sum = 0.0f;
            for (int64_t k = 0; k < K; ++k) sum += dy_pixel[k] * w[c * K + k];
            dst[c] += sum;
          }
        }
      }
    }
  }
}

}  // namespace tf_custom_op
