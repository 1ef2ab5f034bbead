#include "cc/kernels/cpu/pixel_engine.h"

#include <algorithm>
#include <cstring>

#include "cc/kernels/cpu/buffer_pool.h"
#include "cc/kernels/cpu/element_types.h"

namespace tf_custom_op {
namespace {

// Offsets of a plan's taps: the dy index of phase-local position i is
// i + offset (phase_plan.h).
struct OffsetRange {
  int64_t lowest = 0, highest = 0;
};
OffsetRange OffsetsOf(const AxisPlan& plan) {
  OffsetRange range;
  bool first = true;
  for (const AxisTap& tap : plan.taps) {
    range.lowest = first ? tap.offset : std::min(range.lowest, tap.offset);
    range.highest = first ? tap.offset : std::max(range.highest, tap.offset);
    first = false;
  }
  return range;
}

int64_t RoundUp(int64_t value, int64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

// Rows of dy rows transposed per call at least, per row of halo: the halo
// (rows shared with the neighbouring call, transposed by both) stays at
// most a quarter of a call's transposes.
constexpr int64_t kRowsPerHaloRow = 4;

}  // namespace

// Where each column phase's tiles read: phase-local pixel j with column tap
// offset o reads transposed column left_ + j + o, for j up to the phase's
// count rounded up to whole vectors.
PixelEngine::PixelEngine(const ConvProblem& params, const PixelKernel& kernel)
    : params_(params),
      kernel_(kernel),
      transpose_(SelectFloatTranspose()),
      row_plan_(RowPlanOf(params)),
      col_plan_(ColPlanOf(params)) {
  const OffsetRange cols = OffsetsOf(col_plan_);
  int64_t most_pixels = 0;
  for (const AxisPhase& phase : col_plan_.phases) most_pixels = std::max(most_pixels, phase.count);
  left_ = std::max<int64_t>(0, -cols.lowest);
  row_stride_ = left_ + std::max(params.out_cols, RoundUp(most_pixels, kernel.lanes) + cols.highest);
  const OffsetRange rows = OffsetsOf(row_plan_);
  // Direct-mapped by dy row: the rows one dx row reads span at most
  // highest - lowest + 1 consecutive dy rows, so they never share a slot.
  slots_ = rows.highest - rows.lowest + 2;
}

bool PixelEngine::ShapeSuits(const ConvProblem& p) {
  return p.groups > 1 && p.filter_depth <= kPixelMaxChannels;
}

bool PixelEngine::RowsFitCache() const {
  const double bytes =
      static_cast<double>(slots_) * params_.out_depth * row_stride_ * sizeof(float);
  return bytes <= static_cast<double>(kPixelRowCacheBytes);
}

bool PixelEngine::PackFilter(const float* filter_hwio) {
  const int64_t R = params_.filter_rows, S = params_.filter_cols;
  const int64_t cg = params_.filter_depth, kg = params_.out_depth_per_group;
  const int64_t K = params_.out_depth;
  packed_.resize(static_cast<size_t>(R * S * cg * K));
  bool finite = true;
  float* dst = packed_.data();
  for (int64_t g = 0; g < params_.groups; ++g) {
    for (int64_t rs = 0; rs < R * S; ++rs) {
      for (int64_t k = 0; k < kg; ++k) {
        for (int64_t c = 0; c < cg; ++c) {
          const float v = filter_hwio[(rs * cg + c) * K + g * kg + k];
          finite = finite && IsFiniteElement(v);
          *dst++ = v;
        }
      }
    }
  }
  return finite;
}

double PixelEngine::MacsPerRowUnit() const { return MacsPerDxRow(params_); }

int64_t PixelEngine::MinRowsPerCall() const {
  return kRowsPerHaloRow * (slots_ - 1) * std::min(params_.stride_rows, params_.in_rows);
}

// What one call keeps: its transposed dy rows and one tile's pointers.
struct PixelEngine::Scratch {
  PooledBuffer rows_buffer;         // slots_ transposed rows (kept between calls)
  float* rows = nullptr;
  std::vector<int64_t> keys;        // the dy row (n * P + p) in each slot, or -1
  std::vector<float> stage;         // a dy row that RowIO converts
  std::vector<float> dx_staged;     // a dx row that RowIO stores
  std::vector<const float*> row_taps;   // a dx row's transposed rows, per valid row tap
  std::vector<const float*> tap_rows;   // one column phase's taps, group 0
  std::vector<int64_t> tap_weights;     // their weights' offset within a group
  std::vector<const float*> group_rows;   // the same for one group
  std::vector<const float*> group_weights;
  std::vector<float> tile;          // one tile, channel-major
};

const float* PixelEngine::TransposedRow(const RowIO<float>& io, int64_t n, int64_t p,
                                        Scratch* scratch) const {
  const int64_t Q = params_.out_cols, K = params_.out_depth;
  const int64_t key = n * params_.out_rows + p;
  const int64_t slot = p % slots_;
  float* dst = scratch->rows + slot * K * row_stride_;
  if (scratch->keys[slot] == key) return dst;
  if (scratch->keys[slot] < 0) {
    // First use of the slot in this call: zero its margins (the pooled
    // buffer holds whatever its last user left).
    const int64_t right = row_stride_ - left_ - Q;
    for (int64_t k = 0; k < K; ++k) {
      std::memset(dst + k * row_stride_, 0, left_ * sizeof(float));
      std::memset(dst + k * row_stride_ + left_ + Q, 0, right * sizeof(float));
    }
  }
  scratch->keys[slot] = key;
  const float* src = io.DyRow(n, p, scratch->stage.data());  // [Q][K]
  transpose_(src, K, Q, K, dst + left_, row_stride_);
  return dst;
}

void PixelEngine::ComputeRows(const RowIO<float>& io, int64_t begin, int64_t end) const {
  Scratch scratch;
  const int64_t K = params_.out_depth;
  scratch.rows_buffer = PooledBuffer(static_cast<size_t>(slots_ * K * row_stride_) * sizeof(float));
  scratch.rows = static_cast<float*>(scratch.rows_buffer.data());
  scratch.keys.assign(static_cast<size_t>(slots_), -1);
  if (!io.DyRowsInPlace()) scratch.stage.resize(static_cast<size_t>(params_.out_cols * K));
  const int64_t max_row_taps = params_.filter_rows, max_taps = max_row_taps * params_.filter_cols;
  scratch.row_taps.resize(static_cast<size_t>(max_row_taps));
  scratch.tap_rows.resize(static_cast<size_t>(max_taps));
  scratch.tap_weights.resize(static_cast<size_t>(max_taps));
  scratch.group_rows.resize(static_cast<size_t>(max_taps));
  scratch.group_weights.resize(static_cast<size_t>(max_taps));
  scratch.tile.resize(static_cast<size_t>(kPixelMaxChannels * MaxTilePixels(kernel_)));
  const int64_t H = params_.in_rows;
  for (int64_t unit = begin; unit < end; ++unit) {
    const int64_t n = unit / H, h = unit % H;
    float* dx = io.DxRowInPlace(n, h);
    const bool staged = dx == nullptr;
    if (staged) {
      scratch.dx_staged.resize(static_cast<size_t>(params_.in_cols * params_.in_depth));
      dx = scratch.dx_staged.data();
    }
    ComputeRow(io, n, h, dx, &scratch);
    if (staged) io.StoreDxRow(n, h, dx);
  }
}

void PixelEngine::ComputeRow(const RowIO<float>& io, int64_t n, int64_t h, float* dx,
                             Scratch* scratch) const {
  const int64_t sh = params_.stride_rows, S = params_.filter_cols;
  const int64_t C = params_.in_depth, sw = params_.stride_cols;
  const AxisPhase& rp = row_plan_.phases[h % sh];
  const AxisTap* row_taps = row_plan_.taps.data() + rp.first_tap_slot;
  const int64_t i = h / sh;
  int64_t tap_begin, tap_end;
  row_plan_.ValidTapRange(rp, i, params_.out_rows, &tap_begin, &tap_end);
  for (int64_t rt = tap_begin; rt < tap_end; ++rt) {
    scratch->row_taps[rt - tap_begin] = TransposedRow(io, n, i + row_taps[rt].offset, scratch);
  }
  const int64_t kg = params_.out_depth_per_group, cg = params_.filter_depth;
  for (size_t b = 0; b < col_plan_.phases.size(); ++b) {
    const AxisPhase& cp = col_plan_.phases[b];
    if (tap_end == tap_begin || cp.num_taps == 0) {
      // No tap reaches these pixels: dx is zero there.
      for (int64_t j = 0; j < cp.count; ++j) {
        std::memset(dx + (static_cast<int64_t>(b) + j * sw) * C, 0, C * sizeof(float));
      }
      continue;
    }
    const AxisTap* col_taps = col_plan_.taps.data() + cp.first_tap_slot;
    int64_t t = 0;
    for (int64_t rt = tap_begin; rt < tap_end; ++rt) {
      for (int64_t ct = 0; ct < cp.num_taps; ++ct, ++t) {
        scratch->tap_rows[t] = scratch->row_taps[rt - tap_begin] + left_ + col_taps[ct].offset;
        scratch->tap_weights[t] = (row_taps[rt].tap * S + col_taps[ct].tap) * kg * cg;
      }
    }
    ComputeColumnPhase(static_cast<int64_t>(b), t, dx, scratch);
  }
}

void PixelEngine::ComputeColumnPhase(int64_t b, int64_t taps, float* dx,
                                     Scratch* scratch) const {
  const int64_t C = params_.in_depth, sw = params_.stride_cols;
  const int64_t kg = params_.out_depth_per_group, cg = params_.filter_depth;
  const int64_t count = col_plan_.phases[b].count;
  const int64_t group_weights = params_.filter_rows * params_.filter_cols * kg * cg;
  const int lanes = kernel_.lanes;
  float* tile = scratch->tile.data();
  for (int64_t g = 0; g < params_.groups; ++g) {
    for (int64_t t = 0; t < taps; ++t) {
      scratch->group_rows[t] = scratch->tap_rows[t] + g * kg * row_stride_;
      scratch->group_weights[t] = packed_.data() + g * group_weights + scratch->tap_weights[t];
    }
    // The group's channels in blocks of 8, 4, 2, 1, largest first.
    int64_t c0 = 0;
    for (int block = kPixelChannelBlocks - 1; block >= 0; --block) {
      const int64_t cb = int64_t{1} << block;
      for (; c0 + cb <= cg; c0 += cb) {
        const int max_vectors = kernel_.max_vectors[block];
        for (int64_t j0 = 0; j0 < count;) {
          const int64_t left = count - j0;
          const int vectors =
              static_cast<int>(std::min<int64_t>(max_vectors, (left + lanes - 1) / lanes));
          const int64_t width = int64_t{vectors} * lanes;
          kernel_.fn[block][vectors - 1](taps, kg, scratch->group_rows.data(),
                                         scratch->group_weights.data(), row_stride_, cg, j0, c0,
                                         tile);
          // The tile is channel-major; dx is pixel-major with the phase's
          // pixels sw apart.
          transpose_(tile, width, cb, std::min(width, left), dx + (b + j0 * sw) * C + g * cg + c0,
                     sw * C);
          j0 += width;
        }
      }
    }
  }
}

}  // namespace tf_custom_op
