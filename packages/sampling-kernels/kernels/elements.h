// The element types of input rows (RfElementType, abi.h): float32, and IEEE half and bfloat16
// read as their 16 bits and widened to float in registers. The widening is exact, so every
// comparison, weight and threshold after the load is the float32 code's; a half row costs half
// the bytes. Kernels that read input rows are templates over the element type, with one entry
// point per type (abi.h names them).
#pragma once
#include "portability.h"

struct rf_half {
  unsigned short bits;
};
struct rf_bfloat16 {
  unsigned short bits;
};

__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(rf_half v) { return rf_half_bits_to_float(v.bits); }
__device__ __forceinline__ float to_float(rf_bfloat16 v) { return __uint_as_float(static_cast<unsigned>(v.bits) << 16); }

// One 16-byte load of elements: N of them, unpacked to floats in index order.
template <typename T>
struct Vector;
template <>
struct Vector<float> {
  static constexpr unsigned N = 4;
  using Load = float4;
  __device__ static __forceinline__ void unpack(const float4& q, float (&v)[N]) {
    v[0] = q.x;
    v[1] = q.y;
    v[2] = q.z;
    v[3] = q.w;
  }
};
// Two 16-bit elements per 32-bit word, the lower index in the low half (little-endian).
template <typename T>
struct HalfVector {
  static constexpr unsigned N = 8;
  using Load = uint4;
  __device__ static __forceinline__ void unpack(const uint4& q, float (&v)[N]) {
    const unsigned words[4] = {q.x, q.y, q.z, q.w};
#pragma unroll
    for (unsigned w = 0; w < 4; w++) {
      v[2 * w] = to_float(T{static_cast<unsigned short>(words[w] & 0xffffu)});
      v[2 * w + 1] = to_float(T{static_cast<unsigned short>(words[w] >> 16)});
    }
  }
};
template <>
struct Vector<rf_half> : HalfVector<rf_half> {};
template <>
struct Vector<rf_bfloat16> : HalfVector<rf_bfloat16> {};
