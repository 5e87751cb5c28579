// Part of kernels/sampling.hip (included there, after RF_BLOCK and RF_INF): ordered keys, the
// weight of a value (Weigher, fixed point), block reductions of values with their index, and
// the per-element functors of rf_sample's passes (first pass, kept weights).
#pragma once
#include "abi.h"
#include "block.h"

// ---------------------------------------------------------------------------------------
// Shared helpers

// Float bits → u32 that orders like the float (NaN excluded). Same map as the CPU's orderedKey.
__device__ __forceinline__ unsigned ordered_key(float v) {
  const unsigned bits = __float_as_uint(v);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}
__device__ __forceinline__ float key_to_float(unsigned key) {
  const unsigned bits = (key & 0x80000000u) ? (key & 0x7fffffffu) : ~key;
  return __uint_as_float(bits);
}

// The weight of a value: exp((x - max)/T) for logits, (p/max)^(1/T) or p for probabilities,
// and for rows with +Infinity logits, 1 on the +Infinity tokens and 0 elsewhere.
enum WeightMode : int { kLogits = 0, kProbs = 1, kPlainProbs = 2, kInfinite = 3, kGreedy = 4 };

struct Weigher {
  int mode;
  float max;
  float inverseTemperature;
  __device__ __forceinline__ float operator()(float v) const {
    switch (mode) {
      case kLogits: return expf((v - max) * inverseTemperature);
      case kPlainProbs: return v;
      case kProbs: return powf(v / max, inverseTemperature);
      default: return v == RF_INF ? 1.0f : 0.0f;
    }
  }
};

// A weight in 64-bit fixed point, so that histogram sums do not depend on the order of atomics:
// ⌊w · 2^S⌋ for the power of two `scale` = 2^S. w · 2^S is exact in float (a power-of-two
// scaling), so one float multiply and one conversion give the integer the double route
// ⌊(double)w · 2^S⌋ gives, without FP64 arithmetic in the histogram loops. (An integer-only
// version from the float's bits, tried first, ran 19% slower on 10000 × 32000 top-p: its
// variable 64-bit shifts cost more than the conversion.)
struct FixedWeight {
  Weigher weigh;
  double scale;
  float scaleF;
  __device__ __forceinline__ unsigned long long operator()(float v) const {
    return static_cast<unsigned long long>(weigh(v) * scaleF);
  }
};

struct ValueIndex {
  float value;
  int index;
};
struct ArgMaxOp {
  // Larger value wins; on ties the lower index (greedy ties resolve to the lowest index).
  __device__ ValueIndex operator()(ValueIndex a, ValueIndex b) const {
    if (b.index < 0) return a;
    if (a.index < 0) return b;
    if (b.value > a.value || (b.value == a.value && b.index < a.index)) return b;
    return a;
  }
};

// 2048 64-bit counters that threads add to in any order with the same sums, each held as two
// 32-bit words. NVIDIA has no native 64-bit add on shared memory (atomicAdd on an unsigned long
// long there is a compare-and-swap loop, retried under contention, several shared accesses per
// add); a 32-bit add is one instruction. The low word's add returns the old word, so the one
// add that wraps it knows and carries into the high word: exact for any w < 2^64 and any order
// (each add wraps the low word at most once). Read only after a barrier that follows every add.
struct SplitCounters {
  unsigned lo[2048];
  unsigned hi[2048];
  __device__ __forceinline__ void add(unsigned bin, unsigned long long w) {
    const unsigned low = static_cast<unsigned>(w);
    const unsigned high = static_cast<unsigned>(w >> 32);
    const unsigned old = atomicAdd(&lo[bin], low);
    const unsigned carry = old + low < old ? 1u : 0u;
    if (high + carry != 0u) atomicAdd(&hi[bin], high + carry);
  }
  __device__ __forceinline__ unsigned long long operator[](unsigned bin) const {
    return (static_cast<unsigned long long>(hi[bin]) << 32) | lo[bin];
  }
  __device__ __forceinline__ void set(unsigned bin, unsigned long long v) {
    lo[bin] = static_cast<unsigned>(v);
    hi[bin] = static_cast<unsigned>(v >> 32);
  }
};

union SharedStorage {
  SplitCounters counters;              // histograms
  unsigned long long histogram[2048];  // sort keys, scratch
  double doubles[BLOCK / RF_WARP_SIZE];
  unsigned long long u64s[BLOCK / RF_WARP_SIZE];
  int ints[BLOCK / RF_WARP_SIZE];
  float floats[BLOCK / RF_WARP_SIZE];
};

template <typename T>
__device__ T reduce_sum(T v, SharedStorage& s);
template <>
__device__ double reduce_sum<double>(double v, SharedStorage& s) { return block_reduce<BLOCK>(v, SumOp(), s.doubles); }
template <>
__device__ unsigned long long reduce_sum<unsigned long long>(unsigned long long v, SharedStorage& s) {
  return block_reduce<BLOCK>(v, SumOp(), s.u64s);
}

template <int B = BLOCK>
__device__ ValueIndex reduce_argmax(ValueIndex v, SharedStorage& s) {
  // Two reductions (value, then lowest index holding it) keep the shuffles to plain types.
  const float best = block_reduce<B>(v.index >= 0 ? v.value : -RF_INF, MaxOp(), s.floats);
  int index = (v.index >= 0 && v.value == best) ? v.index : 0x7fffffff;
  index = block_reduce<B>(index, MinOp(), s.ints);
  ValueIndex r = {best, index == 0x7fffffff ? -1 : index};
  return r;
}

// ---------------------------------------------------------------------------------------
// Per-element functors of rf_sample's passes.

// The first pass: maximum and lowest argmax, invalid values, and (when `online`) the running
// sum of weights — exp((x − m)/T) against the running maximum m for logits, p for probabilities.
struct FirstPass {
  unsigned kind;
  bool online;
  float inverseTemperature;
  float max;
  int arg;
  int bad;
  float sum;  // per thread (a few hundred terms at most); warps and blocks combine in double
  __device__ __forceinline__ void operator()(float v, unsigned i) {
    const bool ok = kind == RF_INPUT_KIND_LOGITS ? !isnan(v) : (v >= 0.0f && v < RF_INF);
    if (!ok) {
      bad = 1;
      return;
    }
    const bool larger = arg < 0 || v > max;
    if (online) {
      if (kind != RF_INPUT_KIND_LOGITS) {
        sum += v;
      } else if (v != -RF_INF) {
        if (larger) {
          sum = sum * expf((max - v) * inverseTemperature) + 1.0f;
        } else {
          sum += expf((v - max) * inverseTemperature);
        }
      }
    }
    if (larger) {
      max = v;
      arg = static_cast<int>(i);
    }
  }
};

// A sum relative to maximum m, rescaled to the row maximum: exp((m − max)/T) · sum.
__device__ __forceinline__ double rescaled(double sum, float m, float max, float inverseTemperature, bool logits) {
  if (!logits) return sum;
  if (sum == 0.0 || m == -RF_INF) return 0.0;
  return sum * static_cast<double>(expf((m - max) * inverseTemperature));
}

// The weight of a kept value (0 when filtered out): the kept set is x ≥ threshold with weight ≥ minWeight.
struct KeptWeight {
  Weigher weigh;
  float threshold;
  float minWeight;
  __device__ __forceinline__ float operator()(float v) const {
    if (v < threshold) return 0.0f;
    const float w = weigh(v);
    return (w < minWeight || w <= 0.0f) ? 0.0f : w;
  }
  // The walks' form (row_split.h): the weight of the element at index i of value v.
  __device__ __forceinline__ float operator()(float v, unsigned) const { return (*this)(v); }
};
struct KeptSum {
  KeptWeight kept;
  float sum;  // per thread; warps and blocks combine in double
  __device__ __forceinline__ void operator()(float v, unsigned) { sum += kept(v); }
};
