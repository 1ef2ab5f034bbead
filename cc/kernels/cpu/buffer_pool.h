// Raw buffers kept between calls of the op, for the packed filter.
//
// A fresh allocation of a few MB comes from the kernel as untouched pages,
// and the first write to each page faults and has it zeroed: for the 33 MB
// filter of a batch-1 decoder layer that was several milliseconds per call,
// more than the packing itself, and freeing it again ran outside the thread
// pool. Buffers released here are kept (up to kRetainedBytes in all) and
// handed to the next call that fits; thread-safe, since TF may run the op
// from several threads at once.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_BUFFER_POOL_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_BUFFER_POOL_H_

#include <cstddef>
#include <memory>

namespace tf_custom_op {

// Bytes the pool may keep allocated while no call uses them.
constexpr size_t kRetainedBytes = size_t{96} << 20;

// A buffer of at least `bytes` bytes (64-byte aligned; contents undefined),
// from the pool or newly allocated, that goes back to the pool when
// released.
class PooledBuffer {
 public:
  PooledBuffer() = default;
  explicit PooledBuffer(size_t bytes);
  ~PooledBuffer();
  PooledBuffer(PooledBuffer&& other) noexcept;
  PooledBuffer& operator=(PooledBuffer&& other) noexcept;
  PooledBuffer(const PooledBuffer&) = delete;
  PooledBuffer& operator=(const PooledBuffer&) = delete;

  void* data() const { return data_; }

 private:
  void Release();
  void* data_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_BUFFER_POOL_H_
