#include "cc/kernels/cpu/buffer_pool.h"

#include <cstdlib>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

namespace tf_custom_op {
namespace {

struct Free {
  void* data;
  size_t capacity;
};

struct Pool {
  std::mutex mu;
  std::vector<Free> free;  // kept buffers, at most kRetainedBytes in all
  size_t retained = 0;
};

Pool& ThePool() {
  static Pool* pool = new Pool;  // never destroyed: used until the process ends
  return *pool;
}

size_t RoundUp(size_t bytes) { return (bytes + 63) / 64 * 64; }

}  // namespace

PooledBuffer::PooledBuffer(size_t bytes) {
  const size_t wanted = RoundUp(bytes == 0 ? 64 : bytes);
  {
    Pool& pool = ThePool();
    std::lock_guard<std::mutex> lock(pool.mu);
    // The smallest kept buffer that fits.
    size_t best = pool.free.size();
    for (size_t i = 0; i < pool.free.size(); ++i) {
      if (pool.free[i].capacity >= wanted &&
          (best == pool.free.size() || pool.free[i].capacity < pool.free[best].capacity)) {
        best = i;
      }
    }
    if (best < pool.free.size()) {
      data_ = pool.free[best].data;
      capacity_ = pool.free[best].capacity;
      pool.retained -= capacity_;
      pool.free.erase(pool.free.begin() + static_cast<std::ptrdiff_t>(best));
      return;
    }
  }
  data_ = std::aligned_alloc(64, wanted);
  if (data_ == nullptr) throw std::bad_alloc();
  capacity_ = wanted;
}

PooledBuffer::~PooledBuffer() { Release(); }

PooledBuffer::PooledBuffer(PooledBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), capacity_(std::exchange(other.capacity_, 0)) {}

PooledBuffer& PooledBuffer::operator=(PooledBuffer&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = std::exchange(other.data_, nullptr);
    capacity_ = std::exchange(other.capacity_, 0);
  }
  return *this;
}

void PooledBuffer::Release() {
  if (data_ == nullptr) return;
  void* to_free = data_;
  {
    Pool& pool = ThePool();
    std::lock_guard<std::mutex> lock(pool.mu);
    // Keep it, evicting the smallest kept buffers while over the budget.
    if (capacity_ <= kRetainedBytes) {
      pool.free.push_back(Free{data_, capacity_});
      pool.retained += capacity_;
      to_free = nullptr;
      while (pool.retained > kRetainedBytes) {
        size_t smallest = 0;
        for (size_t i = 1; i < pool.free.size(); ++i) {
          if (pool.free[i].capacity < pool.free[smallest].capacity) smallest = i;
        }
        pool.retained -= pool.free[smallest].capacity;
        std::free(pool.free[smallest].data);
        pool.free.erase(pool.free.begin() + static_cast<std::ptrdiff_t>(smallest));
      }
    }
  }
  std::free(to_free);
  data_ = nullptr;
  capacity_ = 0;
}

}  // namespace tf_custom_op
