// A buffer whose data starts on a 64-byte boundary, as TensorFlow allocates
// tensors: the engine's streaming stores take whole, aligned cache lines, so
// the engine's own programs (tester, benchmark) allocate dy and dx this way
// to run the same path as the op.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_ALIGNED_BUFFER_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_ALIGNED_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tf_custom_op {

template <typename T>
class AlignedBuffer {
 public:
  AlignedBuffer(size_t size, T value) : storage_(size + 64 / sizeof(T) + 1, value), size_(size) {
    const uintptr_t address = reinterpret_cast<uintptr_t>(storage_.data());
    data_ = storage_.data() + ((64 - address % 64) % 64) / sizeof(T);
  }
  // data_ points into storage_: a copy would point into the original.
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  T* data() { return data_; }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data_[i]; }

 private:
  std::vector<T> storage_;
  size_t size_;
  T* data_;
};

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_ALIGNED_BUFFER_H_
