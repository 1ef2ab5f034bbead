// Dynamic work distribution over TF's intra-op thread pool.
//
// Work is cut into blocks of roughly kBlockMacs multiply-adds (the engine's
// block size, gather_engine.h); every
// participating thread (the caller included) takes the next block from a
// shared counter until none is left. On a shared machine a thread that loses
// its core for a while simply takes fewer blocks, instead of leaving its
// static half of the work for everyone to wait on. Blocks own disjoint
// output, so the result is the same whatever thread runs which block.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_PARALLEL_ROWS_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_PARALLEL_ROWS_H_

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "cc/kernels/cpu/gather_engine.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/platform/blocking_counter.h"

namespace tf_custom_op {

// `min_block` units per block at least (where that still leaves a block per
// thread): the engine's packed panels are reused across the rows of a block.
template <typename Fn>
void ParallelForBlocks(tensorflow::OpKernelContext* ctx, int64_t total,
                       double macs_per_unit, int64_t min_block, Fn fn) {
  if (total <= 0) return;
  const auto* workers = ctx->device()->tensorflow_cpu_worker_threads();
  const int threads = std::max(1, workers->num_threads);
  const double total_macs = macs_per_unit * static_cast<double>(total);
  if (threads == 1 || total == 1 || total_macs < kBlockMacs) {
    fn(int64_t{0}, total);
    return;
  }
  int64_t block = static_cast<int64_t>(kBlockMacs / std::max(1.0, macs_per_unit));
  // At least a few blocks per thread so that the tail balances, unless that
  // would cut blocks below min_block; never fewer blocks than threads.
  block = std::max<int64_t>(1, std::min(block, total / (4 * threads)));
  block = std::max(block, std::min(min_block, (total + threads - 1) / threads));
  const int64_t blocks = (total + block - 1) / block;
  const int helpers = static_cast<int>(std::min<int64_t>(threads - 1, blocks - 1));

  std::atomic<int64_t> next{0};
  auto drain = [&]() {
    for (;;) {
      const int64_t begin = next.fetch_add(block, std::memory_order_relaxed);
      if (begin >= total) return;
      fn(begin, std::min(total, begin + block));
    }
  };
  tensorflow::BlockingCounter done(helpers);
  for (int h = 0; h < helpers; ++h) {
    workers->workers->Schedule([&drain, &done]() {
      drain();
      done.DecrementCount();
    });
  }
  drain();
  done.Wait();
}

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_PARALLEL_ROWS_H_
