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
