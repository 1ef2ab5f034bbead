// The last few staged dy rows of one thread, keyed by (n, p).
//
// When dy is not readable in place (half, bfloat16, NCHW), RowIO converts a
// row into a staging buffer. The engine sizes the cache to hold every dy row
// of a block of dx rows (GatherEngine::ComputeRows), so each is converted once
// per block however often the block's channel chunks come back to it.
// Eviction is least recently used.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_DY_ROW_CACHE_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_DY_ROW_CACHE_H_

#include <cstdint>
#include <vector>

#include "cc/kernels/cpu/row_io.h"

namespace tf_custom_op {

template <typename Acc, typename Elem>
class DyRowCache {
 public:
  DyRowCache(const RowIO<Acc, Elem>& io, int64_t slots, int64_t row_elements)
      : io_(io), row_elements_(row_elements) {
    if (!io.DyRowsInPlace()) {
      slots_.assign(static_cast<size_t>(slots), Slot{-1, -1, 0});
      storage_.resize(static_cast<size_t>(slots * row_elements));
    }
  }

  const Elem* Get(int64_t n, int64_t p) {
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
    Elem* stage = storage_.data() + victim * row_elements_;
    return io_.DyRow(n, p, stage);
  }

 private:
  struct Slot {
    int64_t n, p;
    uint64_t last_use;
  };
  const RowIO<Acc, Elem>& io_;
  int64_t row_elements_;
  std::vector<Slot> slots_;
  std::vector<Elem> storage_;
  uint64_t clock_ = 0;
};

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_DY_ROW_CACHE_H_
