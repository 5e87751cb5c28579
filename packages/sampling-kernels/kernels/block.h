// Block-wide reductions and scans built from warp shuffles and one shared array of warp
// partials. Written for any warp size (RF_WARP_SIZE) and any BLOCK that is a multiple of it.
// Deterministic: the combination order depends only on thread indices.
#pragma once
#include "portability.h"

template <int BLOCK>
struct BlockShape {
  static_assert(BLOCK % RF_WARP_SIZE == 0, "the block must be whole warps");
  static constexpr int kWarps = BLOCK / RF_WARP_SIZE;
};

// Reduces `value` over the block with `op`; every thread gets the result. `scratch` holds
// at least kWarps values of T; the call ends with a barrier so the scratch can be reused.
template <int BLOCK, typename T, typename Op>
__device__ T block_reduce(T value, Op op, T* scratch) {
  const int lane = threadIdx.x % RF_WARP_SIZE;
  const int warp = threadIdx.x / RF_WARP_SIZE;
#pragma unroll
  for (int offset = RF_WARP_SIZE / 2; offset > 0; offset /= 2) value = op(value, rf_shfl_down(value, offset));
  if (lane == 0) scratch[warp] = value;
  __syncthreads();
  T result = scratch[0];
  for (int w = 1; w < BlockShape<BLOCK>::kWarps; w++) result = op(result, scratch[w]);
  __syncthreads();
  return result;
}

// Exclusive prefix sum of `value` over the block in thread order; `total` gets the block sum.
template <int BLOCK, typename T>
__device__ T block_exclusive_sum(T value, T* total, T* scratch) {
  const int lane = threadIdx.x % RF_WARP_SIZE;
  const int warp = threadIdx.x / RF_WARP_SIZE;
  T inclusive = value;
#pragma unroll
  for (int offset = 1; offset < RF_WARP_SIZE; offset *= 2) {
    T other = rf_shfl_up(inclusive, offset);
    if (lane >= offset) inclusive += other;
  }
  if (lane == RF_WARP_SIZE - 1) scratch[warp] = inclusive;
  __syncthreads();
  T before = T(0);
  T sum = T(0);
  for (int w = 0; w < BlockShape<BLOCK>::kWarps; w++) {
    if (w < warp) before += scratch[w];
    sum += scratch[w];
  }
  __syncthreads();
  *total = sum;
  return before + inclusive - value;
}

struct MaxOp {
  template <typename T>
  __device__ T operator()(T a, T b) const { return a > b ? a : b; }
};
struct MinOp {
  template <typename T>
  __device__ T operator()(T a, T b) const { return a < b ? a : b; }
};
struct SumOp {
  template <typename T>
  __device__ T operator()(T a, T b) const { return a + b; }
};
