// One source, two vendors. Kernels are written in HIP spelling; under nvcc this header maps the
// few names that differ to CUDA. It also hides the warp size: 64 on AMD CDNA (gfx9), 32 on
// NVIDIA and on RDNA (gfx10+, wave32) — nothing else in the kernels may assume either.
#pragma once

#if defined(__HIPCC__) || defined(__HIP__) || defined(__HIPCC_RTC__)
#if !defined(__HIPCC_RTC__)
#include <hip/hip_runtime.h>
#endif
#if defined(__AMDGCN_WAVEFRONT_SIZE)
#define RF_WARP_SIZE __AMDGCN_WAVEFRONT_SIZE
#else
#define RF_WARP_SIZE 64
#endif
template <typename T>
__device__ __forceinline__ T rf_shfl_down(T value, unsigned offset) {
  return __shfl_down(value, offset);
}
template <typename T>
__device__ __forceinline__ T rf_shfl_up(T value, unsigned offset) {
  return __shfl_up(value, offset);
}
template <typename T>
__device__ __forceinline__ T rf_shfl(T value, int lane) {
  return __shfl(value, lane);
}
// A short pause in a spin loop, so that pollers leave the memory system to the writers.
__device__ __forceinline__ void rf_pause() { __builtin_amdgcn_s_sleep(1); }
// IEEE binary16 bits → float (exact), without the vendor's half header.
__device__ __forceinline__ float rf_half_bits_to_float(unsigned short bits) {
  return static_cast<float>(__builtin_bit_cast(_Float16, bits));
}
#else  // nvcc and NVRTC
#define RF_WARP_SIZE 32
template <typename T>
__device__ __forceinline__ T rf_shfl_down(T value, unsigned offset) {
  return __shfl_down_sync(0xffffffffu, value, offset);
}
template <typename T>
__device__ __forceinline__ T rf_shfl_up(T value, unsigned offset) {
  return __shfl_up_sync(0xffffffffu, value, offset);
}
template <typename T>
__device__ __forceinline__ T rf_shfl(T value, int lane) {
  return __shfl_sync(0xffffffffu, value, lane);
}
__device__ __forceinline__ void rf_pause() { __nanosleep(64); }
__device__ __forceinline__ float rf_half_bits_to_float(unsigned short bits) {
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(bits));
  return f;
}
#endif

#define RF_KERNEL extern "C" __global__
// A kernel's parameter struct (abi.h), passed by value. On NVIDIA it is read in place from the
// parameter space (__grid_constant__, CUDA 11.7+) instead of copied into registers at entry:
// without it rf_top_logprobs spilled three times as much (sm_90: 232 bytes of spill stores
// instead of 76). HIP reads kernel arguments from the kernarg segment as they are.
#if !(defined(__HIPCC__) || defined(__HIP__) || defined(__HIPCC_RTC__)) && defined(__CUDACC_VER_MAJOR__) && \
    (__CUDACC_VER_MAJOR__ > 11 || (__CUDACC_VER_MAJOR__ == 11 && __CUDACC_VER_MINOR__ >= 7))
#define RF_PARAMS const __grid_constant__
#else
#define RF_PARAMS const
#endif
// Launch bounds with a minimum of resident blocks per multiprocessor, a register budget for
// NVIDIA's compiler. HIP's second argument means waves per execution unit instead, so AMD
// builds get the block size alone (not measured there; see docs/PERFORMANCE.md).
#if defined(__HIPCC__) || defined(__HIP__) || defined(__HIPCC_RTC__)
#define RF_LAUNCH_BOUNDS_MIN_BLOCKS(threads, blocks) __launch_bounds__(threads)
#else
#define RF_LAUNCH_BOUNDS_MIN_BLOCKS(threads, blocks) __launch_bounds__(threads, blocks)
#endif

// Development only (docs/DEVELOPING.md, "A kernel's timeline"): with RF_TIMELINE defined, a
// kernel's thread 0 stamps the time at named stages (RF_STAMP(slot), slot < RF_TIMELINE_SLOTS)
// into a module-global table per block, and RF_TIMELINE_PRINT() prints the first and last
// block's stamps of every RF_TIMELINE_EVERY-th launch. Compiled out otherwise.
#ifdef RF_TIMELINE
#define RF_TIMELINE_SLOTS 16
#ifndef RF_TIMELINE_EVERY
#define RF_TIMELINE_EVERY 16
#endif
#ifndef RF_TIMELINE_BLOCKS
#define RF_TIMELINE_BLOCKS 8192
#endif
__device__ unsigned long long rf_timeline_stamps[RF_TIMELINE_BLOCKS][RF_TIMELINE_SLOTS];
__device__ unsigned rf_timeline_launches[2];
__device__ unsigned long long rf_timeline_last_end;  // block 0's last stamp of the previous launch
__device__ __forceinline__ unsigned long long rf_now() {
#if defined(__HIPCC__) || defined(__HIP__) || defined(__HIPCC_RTC__)
  return wall_clock64();
#else
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
#endif
}
// Slot 0 is the block's start; the start clears the other slots (a stage a launch skips
// prints -1).
#define RF_STAMP_START()                                                                      \
  do {                                                                                        \
    if (threadIdx.x == 0 && blockIdx.x < RF_TIMELINE_BLOCKS) {                                \
      rf_timeline_stamps[blockIdx.x][0] = rf_now();                                           \
      for (int i_ = 1; i_ < RF_TIMELINE_SLOTS - 1; i_++) rf_timeline_stamps[blockIdx.x][i_] = 0; \
      rf_timeline_stamps[blockIdx.x][RF_TIMELINE_SLOTS - 1] = clock64();                      \
      if (blockIdx.x == 0) rf_timeline_stamps[0][11] = rf_timeline_stamps[0][0] - rf_timeline_last_end + rf_timeline_stamps[0][0]; \
    }                                                                                         \
  } while (0)
#define RF_STAMP(slot)                                                                        \
  do {                                                                                        \
    if (threadIdx.x == 0 && blockIdx.x < RF_TIMELINE_BLOCKS) rf_timeline_stamps[blockIdx.x][slot] = rf_now(); \
  } while (0)
#define RF_TIMELINE_PRINT()                                                                   \
  do {                                                                                        \
    const bool first_ = blockIdx.x == 0, last_ = blockIdx.x == gridDim.x - 1 && gridDim.x > 1; \
    if (threadIdx.x == 0 && (first_ || last_) && blockIdx.x < RF_TIMELINE_BLOCKS) {         \
      const unsigned n_ = atomicAdd(&rf_timeline_launches[first_ ? 0 : 1], 1u);              \
      if (first_) rf_timeline_last_end = rf_timeline_stamps[0][10];                           \
      if (n_ % RF_TIMELINE_EVERY == RF_TIMELINE_EVERY - 1) {                                 \
        const unsigned long long* s_ = rf_timeline_stamps[blockIdx.x];                       \
        long long d_[RF_TIMELINE_SLOTS];                                                     \
        for (int i_ = 1; i_ < RF_TIMELINE_SLOTS - 1; i_++) d_[i_] = s_[i_] >= s_[0] ? (long long)(s_[i_] - s_[0]) : -1ll; \
        d_[RF_TIMELINE_SLOTS - 1] = clock64() - (long long)s_[RF_TIMELINE_SLOTS - 1]; /* cycles */ \
        printf("timeline launch %u block %u/%u t0 %llu ns: 1=%lld 2=%lld 3=%lld 4=%lld 5=%lld 6=%lld 7=%lld " \
               "8=%lld 9=%lld 10=%lld 11=%lld 12=%lld 13=%lld 14=%lld 15=%lld\n",                   \
               n_, blockIdx.x, gridDim.x, s_[0], d_[1], d_[2], d_[3], d_[4], d_[5], d_[6], d_[7], d_[8], \
               d_[9], d_[10], d_[11], d_[12], d_[13], d_[14], d_[15]);                         \
      }                                                                                      \
    }                                                                                         \
  } while (0)
#else
#define RF_STAMP_START() \
  do {                   \
  } while (0)
#define RF_STAMP(slot) \
  do {                 \
  } while (0)
#define RF_TIMELINE_PRINT() \
  do {                      \
  } while (0)
#endif
