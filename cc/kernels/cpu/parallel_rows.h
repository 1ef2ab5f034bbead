// Dynamic work distribution over TF's intra-op thread pool.
//
// Work is cut into blocks of roughly kBlockMacs multiply-adds (the engine's
// block size, gather_engine.h); every
// participating thread (the caller included) takes the next block from a
// shared counter until none is left. On a shared machine a thread that loses
// its core for a while simply takes fewer blocks, instead of leaving its
// static half of the work for everyone to wait on. Blocks own disjoint
// output, so the result is the same whatever thread runs which block.
// Free of TensorFlow headers: the op hands in its pool as a WorkerPool
// (cpu_kernel.cc wraps TF's intra-op pool).
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_PARALLEL_ROWS_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_PARALLEL_ROWS_H_

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

#include "cc/kernels/cpu/gather_engine.h"

namespace tf_custom_op {

// Threads that may take part in a parallel loop (the caller included), and
// how to start one more of them on a task.
struct WorkerPool {
  int threads = 1;
  std::function<void(std::function<void()>)> schedule;
};

// `min_block` units per block at least (where that still leaves a block per
// thread): the engine's packed panels are reused across the rows of a block.
template <typename Fn>
void ParallelForBlocks(const WorkerPool& pool, int64_t total, double macs_per_unit,
                       int64_t min_block, Fn fn) {
  if (total <= 0) return;
  const int threads = std::max(1, pool.threads);
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
  // The helpers still running; the caller waits for the last one.
  std::mutex mutex;
  std::condition_variable finished;
  int running = helpers;
  for (int h = 0; h < helpers; ++h) {
    pool.schedule([&]() {
      drain();
      std::lock_guard<std::mutex> lock(mutex);
      if (--running == 0) finished.notify_one();
    });
  }
  drain();
  std::unique_lock<std::mutex> lock(mutex);
  finished.wait(lock, [&] { return running == 0; });
}

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_PARALLEL_ROWS_H_
