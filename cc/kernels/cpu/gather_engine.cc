#include "cc/kernels/cpu/gather_engine.h"

#include <algorithm>
#include <cstring>

namespace tf_custom_op {

template <typename Acc>
GatherEngine<Acc>::GatherEngine(const ConvBackpropInputParams& params,
                                const MicroKernel<Acc>& kernel)
    : params_(params),
      kernel_(kernel),
      row_plan_(MakeAxisPlan(params.in_rows, params.filter_rows,
                             params.stride_rows, params.dilation_rows,
                             params.pad_top)),
      col_plan_(MakeAxisPlan(params.in_cols, params.filter_cols,
                             params.stride_cols, params.dilation_cols,
                             params.pad_left)),
      zero_row_(static_cast<size_t>(params.out_depth_per_group), Acc(0)) {
  const int64_t nr = kernel_.nr;
  channel_blocks_ = (params_.filter_depth + nr - 1) / nr;
  const int64_t panel_unit = channel_blocks_ * params_.out_depth_per_group * nr;
  int64_t offset = 0;
  for (const AxisPhase& rp : row_plan_.phases) {
    for (const AxisPhase& cp : col_plan_.phases) {
      panel_offsets_.push_back(offset);
      offset += rp.num_taps * cp.num_taps * panel_unit;
    }
  }
  group_stride_ = offset;
}

template <typename Acc>
void GatherEngine<Acc>::PackFilter(const Acc* filter_hwio) {
  filter_finite_ = true;
  const int64_t filter_elements = params_.filter_rows * params_.filter_cols *
                                  params_.filter_depth * params_.out_depth;
  for (int64_t e = 0; e < filter_elements; ++e) {
    // x - x is 0 for finite x and NaN for Inf or NaN (no <cmath> for int32).
    const Acc v = filter_hwio[e];
    filter_finite_ = filter_finite_ && (v - v == Acc(0));
  }
  const int64_t nr = kernel_.nr;
  const int64_t cg = params_.filter_depth;
  const int64_t kg = params_.out_depth_per_group;
  const int64_t k_total = params_.out_depth;
  const int64_t s_total = params_.filter_cols;
  packed_.assign(static_cast<size_t>(group_stride_ * params_.groups), Acc(0));
  for (int64_t g = 0; g < params_.groups; ++g) {
    for (size_t a = 0; a < row_plan_.phases.size(); ++a) {
      const AxisPhase& rp = row_plan_.phases[a];
      for (size_t b = 0; b < col_plan_.phases.size(); ++b) {
        const AxisPhase& cp = col_plan_.phases[b];
        const int64_t taps = rp.num_taps * cp.num_taps;
        Acc* panel = packed_.data() + g * group_stride_ + PanelOffset(a, b);
        for (int64_t cb = 0; cb < channel_blocks_; ++cb) {
          Acc* block = panel + cb * taps * kg * nr;
          for (int64_t rt = 0; rt < rp.num_taps; ++rt) {
            const int64_t r = row_plan_.taps[rp.first_tap_slot + rt].tap;
            for (int64_t ct = 0; ct < cp.num_taps; ++ct) {
              const int64_t s = col_plan_.taps[cp.first_tap_slot + ct].tap;
              Acc* dst = block + (rt * cp.num_taps + ct) * kg * nr;
              const int64_t c_end = std::min(nr, cg - cb * nr);
              for (int64_t k = 0; k < kg; ++k) {
                for (int64_t l = 0; l < c_end; ++l) {
                  const int64_t c = cb * nr + l;
                  dst[k * nr + l] =
                      filter_hwio[((r * s_total + s) * cg + c) * k_total +
                                  g * kg + k];
                }
              }
            }
          }
        }
      }
    }
  }
}

template <typename Acc>
void GatherEngine<Acc>::SkipZeroRowTile(int64_t taps, int64_t depth,
                                        const Acc* const* rows,
                                        const Acc* packed, Acc* out,
                                        int64_t out_pixel_stride, int m_valid,
                                        int n_valid) const {
  const int mr = kernel_.mr;
  const int64_t nr = kernel_.nr;
  for (int m = 0; m < m_valid; ++m) {
    for (int n = 0; n < n_valid; ++n) {
      Acc sum = 0;
      for (int64_t t = 0; t < taps; ++t) {
        const Acc* row = rows[t * mr + m];
        if (row == zero_row_.data()) continue;
        const Acc* w = packed + t * depth * nr + n;
        for (int64_t k = 0; k < depth; ++k) sum += row[k] * w[k * nr];
      }
      out[m * out_pixel_stride + n] = sum;
    }
  }
}

template <typename Acc>
double GatherEngine<Acc>::MacsPerRowUnit() const {
  const double taps_per_pixel =
      static_cast<double>(params_.filter_rows) * params_.filter_cols /
      (static_cast<double>(std::min(params_.stride_rows, params_.in_rows)) *
       std::min(params_.stride_cols, params_.in_cols));
  return params_.in_cols * taps_per_pixel * params_.in_depth *
         params_.out_depth_per_group;
}

template <typename Acc>
void GatherEngine<Acc>::ZeroPhaseColumns(Acc* dx_row, int64_t col_phase) const {
  const int64_t c = params_.in_depth;
  const int64_t sw = params_.stride_cols;
  for (int64_t x = col_phase; x < params_.in_cols; x += sw) {
    std::memset(static_cast<void*>(dx_row + x * c), 0, c * sizeof(Acc));
  }
}

template <typename Acc>
int64_t GatherEngine<Acc>::MaxRowTaps() const {
  int64_t most = 0;
  for (const AxisPhase& rp : row_plan_.phases) {
    most = std::max(most, rp.num_taps);
  }
  return most;
}

namespace {

// The last few staged dy rows of one thread, keyed by (n, p). Consecutive dx
// rows read overlapping dy rows, so a cache a little larger than the number of
// row taps converts each dy row about once per shard. Eviction is least
// recently used, which never evicts a row fetched for the current dx row as
// long as there are more slots than row taps.
template <typename Acc>
class DyRowCache {
 public:
  DyRowCache(const RowIO<Acc>& io, int64_t slots, int64_t row_elements)
      : io_(io), row_elements_(row_elements) {
    if (!io.DyRowsInPlace()) {
      slots_.assign(static_cast<size_t>(slots), Slot{-1, -1, 0});
      storage_.resize(static_cast<size_t>(slots * row_elements));
    }
  }

  const Acc* Get(int64_t n, int64_t p) {
    if (slots_.empty()) return io_.DyRow(n, p, nullptr);
    ++clock_;
    size_t victim = 0;
    for (size_t s = 0; s < slots_.size(); ++s) {
      if (slots_[s].n == n && slots_[s].p == p) {
        slots_[s].last_use = clock_;
        return storage_.data() + s * row_elements_;
      }
      if (slots_[s].last_use < slots_[victim].last_use) victim = s;
    }
    slots_[victim] = Slot{n, p, clock_};
    Acc* stage = storage_.data() + victim * row_elements_;
    return io_.DyRow(n, p, stage);
  }

 private:
  struct Slot {
    int64_t n, p;
    uint64_t last_use;
  };
  const RowIO<Acc>& io_;
  int64_t row_elements_;
  std::vector<Slot> slots_;
  std::vector<Acc> storage_;
  uint64_t clock_ = 0;
};

}  // namespace

template <typename Acc>
void GatherEngine<Acc>::ComputeRows(const RowIO<Acc>& io, int64_t begin,
                                    int64_t end) const {
  const int mr = kernel_.mr;
  const int64_t nr = kernel_.nr;
  const int64_t H = params_.in_rows, W = params_.in_cols, C = params_.in_depth;
  const int64_t P = params_.out_rows, Q = params_.out_cols,
                K = params_.out_depth;
  const int64_t cg = params_.filter_depth, kg = params_.out_depth_per_group;
  const int64_t sh = params_.stride_rows, sw = params_.stride_cols;

  size_t max_taps = 0;
  for (const AxisPhase& rp : row_plan_.phases) {
    for (const AxisPhase& cp : col_plan_.phases) {
      max_taps = std::max<size_t>(max_taps, rp.num_taps * cp.num_taps);
    }
  }
  std::vector<const Acc*> rows(std::max<size_t>(max_taps, 1) * mr);
  const int64_t row_taps_max = std::max<int64_t>(MaxRowTaps(), 1);
  std::vector<const Acc*> dy_rows(static_cast<size_t>(row_taps_max));
  DyRowCache<Acc> cache(io, row_taps_max + 1, Q * K);
  std::vector<Acc> dx_scratch;

  for (int64_t unit = begin; unit < end; ++unit) {
    const int64_t n = unit / H, h = unit % H;
    const int64_t a = h % sh, i = h / sh;
    const AxisPhase& rp = row_plan_.phases[a];
    int64_t rt_begin, rt_end;
    row_plan_.ValidTapRange(rp, i, P, &rt_begin, &rt_end);
    const AxisTap* row_taps = row_plan_.taps.data() + rp.first_tap_slot;
    for (int64_t rt = rt_begin; rt < rt_end; ++rt) {
      dy_rows[rt - rt_begin] = cache.Get(n, i + row_taps[rt].offset);
    }
    Acc* dx_row = io.DxRowInPlace(n, h);
    if (dx_row == nullptr) {
      dx_scratch.resize(static_cast<size_t>(W * C));
      dx_row = dx_scratch.data();
    }

    for (size_t b = 0; b < col_plan_.phases.size(); ++b) {
      const AxisPhase& cp = col_plan_.phases[b];
      const int64_t ct_count = cp.num_taps;
      if (rt_begin == rt_end || ct_count == 0) {
        ZeroPhaseColumns(dx_row, static_cast<int64_t>(b));
        continue;
      }
      const int64_t taps = (rt_end - rt_begin) * ct_count;
      const AxisTap* col_taps = col_plan_.taps.data() + cp.first_tap_slot;
      const int64_t panel_taps = rp.num_taps * ct_count;

      for (int64_t g = 0; g < params_.groups; ++g) {
        const Acc* panel = packed_.data() + g * group_stride_ + PanelOffset(a, b);
        for (int64_t cb = 0; cb < channel_blocks_; ++cb) {
          const Acc* weights =
              panel + (cb * panel_taps + rt_begin * ct_count) * kg * nr;
          const int n_valid = static_cast<int>(std::min(nr, cg - cb * nr));
          for (int64_t j0 = 0; j0 < cp.count; j0 += mr) {
            const int m_valid =
                static_cast<int>(std::min<int64_t>(mr, cp.count - j0));
            // Indirection: one dy row pointer per (tap, pixel).
            const Acc** slot = rows.data();
            bool reads_zero_row = false;
            for (int64_t rt = 0; rt < rt_end - rt_begin; ++rt) {
              const Acc* dy_row = dy_rows[rt] + g * kg;
              for (int64_t ct = 0; ct < ct_count; ++ct) {
                const int64_t q0 = j0 + col_taps[ct].offset;
                for (int m = 0; m < mr; ++m, ++slot) {
                  const int64_t q = q0 + m;
                  const bool inside = q >= 0 && q < Q;
                  reads_zero_row |= m < m_valid && !inside;
                  *slot = (m < m_valid && inside) ? dy_row + q * K
                                                  : zero_row_.data();
                }
              }
            }
            Acc* out = dx_row + (static_cast<int64_t>(b) + j0 * sw) * C +
                       g * cg + cb * nr;
            if (reads_zero_row && !filter_finite_) {
              // 0 * Inf would be NaN where TensorFlow skips the tap.
              SkipZeroRowTile(taps, kg, rows.data(), weights, out, sw * C,
                              m_valid, n_valid);
              continue;
            }
            kernel_.fn(taps, kg, rows.data(), weights, out, sw * C, m_valid,
                       n_valid);
          }
        }
      }
    }
    if (dx_row == dx_scratch.data()) io.StoreDxRow(n, h, dx_row);
  }
}

template class GatherEngine<float>;
template class GatherEngine<double>;
template class GatherEngine<int32_t>;

}  // namespace tf_custom_op
