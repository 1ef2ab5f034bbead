// Host emulation of the small part of CUDA the conv2d_backprop_input kernels
// use, so that conv_backprop_input.cu.cc compiles with g++ as plain C++ and
// its tiling, shared-memory staging and synchronisation run on a machine
// without a GPU (tests/gpu_emulation).
//
// Model: a launch runs one host thread per CUDA thread of a block; the blocks
// of the grid run one after another (each thread loops over them in the same
// order), so a block's __shared__ variables (function-local statics here) are
// owned by one block at a time. __syncthreads() is a barrier over the block's
// threads; it also checks that every thread arrived from the same source line,
// which catches a barrier in divergent code instead of silently pairing it with
// another one. __syncwarp() is emulated as a block-wide barrier: the kernels
// only call it in block-uniform code. Launches are serialised.
//
// Not expressible here (see docs/BENCHMARKS.md, GPU section): tensor-core
// intrinsics (WMMA / mma.sync: the kernel uses its scalar fallback under the
// same tiling), warp shuffles and votes, real concurrency between warps
// (threads interleave under the OS scheduler, which exercises the barriers but
// not the memory model), and timings.
#ifndef TF_CUSTOM_OP_CC_KERNELS_GPU_CUDA_EMULATION_H_
#define TF_CUSTOM_OP_CC_KERNELS_GPU_CUDA_EMULATION_H_

#include <atomic>
#include <climits>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#define TFCO_CUDA_EMULATION_ACTIVE 1

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(...)
// A block's shared variables are function-local statics: blocks run one at a
// time and all threads of the running block see the same object.
#define __shared__ static

struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1)
      : x(vx), y(vy), z(vz) {}
};
struct uint3 {
  unsigned int x, y, z;
};

inline thread_local uint3 threadIdx = {0, 0, 0};
inline thread_local uint3 blockIdx = {0, 0, 0};
inline dim3 blockDim;
inline dim3 gridDim;

// ---- A minimal runtime API -------------------------------------------------
using cudaStream_t = struct CUstream_emulated*;
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorInvalidConfiguration = 9,
};
inline const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
  }
  return "unknown error";
}
inline cudaError_t& EmulatedLastError() {
  static thread_local cudaError_t e = cudaSuccess;
  return e;
}
inline cudaError_t cudaGetLastError() {
  cudaError_t e = EmulatedLastError();
  EmulatedLastError() = cudaSuccess;
  return e;
}
inline cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes,
                                   cudaStream_t = nullptr) {
  if (bytes) std::memset(ptr, value, bytes);
  return cudaSuccess;
}

// ---- 16-bit floating-point types --------------------------------------------
struct __half {
  uint16_t bits;
};
struct __nv_bfloat16 {
  uint16_t bits;
};

inline float tfco_bits_to_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint32_t tfco_float_to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

inline float __half2float(__half h) {
  const uint32_t sign = static_cast<uint32_t>(h.bits & 0x8000u) << 16;
  const uint32_t exp = (h.bits >> 10) & 0x1fu;
  const uint32_t mant = h.bits & 0x3ffu;
  if (exp == 0) {
    const float mag = static_cast<float>(mant) * 5.9604644775390625e-8f;  // 2^-24
    return sign ? -mag : mag;
  }
  if (exp == 31) return tfco_bits_to_float(sign | 0x7f800000u | (mant << 13));
  return tfco_bits_to_float(sign | ((exp + 112u) << 23) | (mant << 13));
}

// Round to nearest even, like __float2half_rn.
inline __half __float2half_rn(float f) {
  const uint32_t x = tfco_float_to_bits(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t absx = x & 0x7fffffffu;
  __half h;
  if (absx >= 0x7f800000u) {  // inf, nan
    h.bits = sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0u);
  } else if (absx >= 0x477ff000u) {  // >= 65520 rounds to inf
    h.bits = sign | 0x7c00u;
  } else if (absx < 0x38800000u) {  // below 2^-14: subnormal (or zero)
    const float scaled = tfco_bits_to_float(absx) * 16777216.0f;  // exact
    h.bits = sign | static_cast<uint16_t>(std::nearbyint(scaled));
  } else {
    const uint32_t mant = absx & 0x7fffffu;
    const uint32_t exp = (absx >> 23) - 112u;
    uint32_t v = (exp << 10) | (mant >> 13);
    const uint32_t rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (v & 1u))) ++v;
    h.bits = static_cast<uint16_t>(sign | v);
  }
  return h;
}

inline float __bfloat162float(__nv_bfloat16 b) {
  return tfco_bits_to_float(static_cast<uint32_t>(b.bits) << 16);
}

inline __nv_bfloat16 __float2bfloat16_rn(float f) {
  const uint32_t x = tfco_float_to_bits(f);
  __nv_bfloat16 b;
  if ((x & 0x7fffffffu) > 0x7f800000u) {
    b.bits = static_cast<uint16_t>((x >> 16) | 0x40u);
  } else {
    b.bits = static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
  }
  return b;
}

// ---- Threads, barrier, launch -----------------------------------------------
namespace tfco_emu {

// Barrier over the block's threads. On Linux the waiters sleep on a futex of
// the generation word (no mutex to re-acquire on wake-up: with hundreds of
// threads on a few cores that hand-off dominated the run time); elsewhere a
// mutex and condition variable.
class BlockBarrier {
 public:
  explicit BlockBarrier(int count) : count_(count) {}

  // All `count` threads must call Wait with the same site id. Nothing here
  // spins: the first arriver claims the site with a compare-and-swap, later
  // ones only compare, and the last one resets it and wakes the others (a
  // yield loop over hundreds of threads starved the run on a busy machine).
  void Wait(int site) {
    const uint32_t generation = generation_.load(std::memory_order_acquire);
    int first = kNoSite;
    if (!site_.compare_exchange_strong(first, site, std::memory_order_acq_rel) &&
        first != site) {
      std::fprintf(stderr,
                   "cuda_emulation: __syncthreads mismatch: a thread reached "
                   "the barrier at line %d while others wait at line %d "
                   "(barrier in divergent code?)\n",
                   site, first);
      std::abort();
    }
    const int arrived = arrived_.fetch_add(1, std::memory_order_acq_rel);
    if (arrived + 1 == count_) {
      arrived_.store(0, std::memory_order_relaxed);
      site_.store(kNoSite, std::memory_order_relaxed);
#if defined(__linux__)
      generation_.fetch_add(1, std::memory_order_acq_rel);
      syscall(SYS_futex, reinterpret_cast<uint32_t*>(&generation_),
              FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr, 0);
#else
      std::lock_guard<std::mutex> lock(mu_);
      generation_.fetch_add(1, std::memory_order_acq_rel);
      cv_.notify_all();
#endif
      return;
    }
#if defined(__linux__)
    while (generation_.load(std::memory_order_acquire) == generation) {
      syscall(SYS_futex, reinterpret_cast<uint32_t*>(&generation_),
              FUTEX_WAIT_PRIVATE, generation, nullptr, nullptr, 0);
    }
#else
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] {
      return generation_.load(std::memory_order_acquire) != generation;
    });
#endif
  }

 private:
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t),
                "futex word");
  static constexpr int kNoSite = INT32_MIN;  // no site id is this
  const int count_;
  std::atomic<int> arrived_{0};
  std::atomic<int> site_{kNoSite};
  std::atomic<uint32_t> generation_{0};
#if !defined(__linux__)
  std::mutex mu_;
  std::condition_variable cv_;
#endif
};

inline BlockBarrier*& CurrentBarrier() {
  static BlockBarrier* barrier = nullptr;
  return barrier;
}

constexpr int kEndOfBlockSite = -1;

inline void SyncThreads(int site) { CurrentBarrier()->Wait(site); }

// Host threads that play the CUDA threads, created once and reused by every
// launch (creating hundreds of threads per launch cost more than the kernels).
class WorkerPool {
 public:
  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    start_.notify_all();
    for (auto& t : workers_) t.join();
  }

  // Runs job(t) on workers 0 .. n-1 and waits for all of them.
  template <typename Job>
  void Run(unsigned n, Job& job) {
    std::unique_lock<std::mutex> lock(mu_);
    while (workers_.size() < n) {
      const unsigned index = static_cast<unsigned>(workers_.size());
      workers_.emplace_back([this, index] { Loop(index); });
    }
    job_ = [&job](unsigned t) { job(t); };
    active_ = n;
    remaining_ = n;
    ++launch_;
    start_.notify_all();
    done_.wait(lock, [&] { return remaining_ == 0; });
    job_ = nullptr;
  }

 private:
  void Loop(unsigned index) {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      start_.wait(lock, [&] { return stop_ || launch_ != seen; });
      if (stop_) return;
      seen = launch_;
      if (index >= active_) continue;
      std::function<void(unsigned)> job = job_;
      lock.unlock();
      job(index);
      lock.lock();
      if (--remaining_ == 0) done_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable start_, done_;
  std::vector<std::thread> workers_;
  std::function<void(unsigned)> job_;
  unsigned active_ = 0, remaining_ = 0;
  uint64_t launch_ = 0;
  bool stop_ = false;
};

inline WorkerPool& Workers() {
  static WorkerPool pool;
  return pool;
}

// Runs body() as every thread of every block of the grid.
template <typename Body>
void RunGrid(dim3 grid, dim3 block, Body&& body) {
  static std::mutex launch_mu;
  std::lock_guard<std::mutex> guard(launch_mu);
  const unsigned int threads = block.x * block.y * block.z;
  if (threads == 0 || threads > 1024 || grid.x == 0 || grid.y == 0 ||
      grid.z == 0 || grid.y > 65535 || grid.z > 65535 || block.z > 64) {
    EmulatedLastError() = cudaErrorInvalidConfiguration;
    return;
  }
  gridDim = grid;
  blockDim = block;
  BlockBarrier barrier(static_cast<int>(threads));
  CurrentBarrier() = &barrier;
  auto job = [&](unsigned t) {
    threadIdx = uint3{t % block.x, (t / block.x) % block.y,
                      t / (block.x * block.y)};
    for (unsigned int bz = 0; bz < grid.z; ++bz) {
      for (unsigned int by = 0; by < grid.y; ++by) {
        for (unsigned int bx = 0; bx < grid.x; ++bx) {
          blockIdx = uint3{bx, by, bz};
          body();
          barrier.Wait(kEndOfBlockSite);
        }
      }
    }
  };
  Workers().Run(threads, job);
  CurrentBarrier() = nullptr;
}

}  // namespace tfco_emu

#define __syncthreads() ::tfco_emu::SyncThreads(__LINE__)
#define __syncwarp(...) ::tfco_emu::SyncThreads(__LINE__)

#endif  // TF_CUSTOM_OP_CC_KERNELS_GPU_CUDA_EMULATION_H_
