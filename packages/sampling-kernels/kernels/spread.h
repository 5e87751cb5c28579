// Part of kernels/sampling.hip: top-p alone from logits by distance below the row maximum.
#pragma once
#include "select.h"

// ---------------------------------------------------------------------------------------
// Top-p from logits on a row in one block, by distance below the maximum.
//
// radix_select's first round bins the ordered keys by their top 11 bits (sign, exponent, two
// mantissa bits): logits of a real row fall into a few dozen of those bins, so the 64-bit
// shared atomics of 1024 threads collide on them, and two more rounds follow. Here the bins are
// the distance below the row maximum, d = (max − x)/T, in steps of 1/32 over [0, 64): beyond
// that exp(−d) is below every fixed-point unit (2^-62 × 2^63 / 2 < 1 at d = 64), so the mass
// is spread over hundreds of bins. d is computed in float and every step (a subtraction, a
// multiplication by 1/T, by a power of two, a floor) is monotone, so a bin holds a contiguous
// range of values and ordering bins orders values. The bin where the mass from the top crosses
// ⌈p · total⌉ is then gathered into the candidate buffer (a few hundred elements typically)
// and sorted; if it does not fit, its elements are binned again 2048 times finer (distance
// steps of 2^-16) and the finer bin gathered. The threshold is the one radix_select finds —
// the same fixed-point masses, the same rule — in two or three passes instead of three
// contended rounds. False when even the finer bin does not fit (ties by the thousand): the
// caller runs radix_select then.
// Most blocks a split row may have to take the bins: with more (one or a few rows at 151936,
// 33–75 blocks of ~2000 elements) merging every block's bins in device memory cost more than
// the radix rounds (H200: one row 44 → 47 µs at σ = 3, 43 → 50 at σ = 1; four blocks per row
// 146 → 64). Such rows keep the radix rounds.
constexpr unsigned SPREAD_MAX_PARTS = 32;
constexpr float SPREAD_STEPS = 32.0f;                   // level-1 bins per unit of distance
constexpr float SPREAD_FINE_STEPS = 32.0f * 2048.0f;    // level-2 bins per unit of distance

struct SpreadBins {
  FixedWeight fixed;
  __device__ __forceinline__ float distance(float v) const { return (fixed.weigh.max - v) * fixed.weigh.inverseTemperature; }
  // Level-1 bin: 0 holds the maximum; 2047 everything at distance ≥ 63.97 (weight 0).
  __device__ __forceinline__ unsigned coarse(float v) const {
    return static_cast<unsigned>(fminf(distance(v) * SPREAD_STEPS, 2047.0f));
  }
  // Level-2 bin inside level-1 bin `c` (for elements of that bin: d · 65536 ∈ [2048c, 2048c + 2048)).
  __device__ __forceinline__ unsigned fine(float v, unsigned c) const {
    return static_cast<unsigned>(fminf(distance(v) * SPREAD_FINE_STEPS, 16777215.0f)) - c * 2048u;
  }
};

// Adds each element's fixed weight to its level-1 bin, or (level 2) to its fine bin within `coarseBin`.
struct SpreadHistogram {
  SpreadBins bins;
  SplitCounters* histogram;
  bool fineLevel;
  unsigned coarseBin;
  __device__ __forceinline__ void operator()(float v, unsigned) const {
    const unsigned long long w = bins.fixed(v);
    if (w == 0) return;
    const unsigned c = bins.coarse(v);
    if (!fineLevel) {
      histogram->add(c, w);
    } else if (c == coarseBin) {
      histogram->add(bins.fine(v, c), w);
    }
  }
};

// Gathers the elements of weight > 0 in level-1 bin `coarseBin` (and, at level 2, fine bin
// `fineBin`), and sums the kept weights of the elements above the bin (all of them above the
// threshold): per thread, in the order of warp_for_each, as the kept-total pass would. The bin's
// elements go to a candidate buffer's entries and counter: the block's in shared memory, or for a
// split row the row's in device memory.
struct SpreadGather {
  SpreadBins bins;
  KeptWeight keptAbove;  // threshold -Infinity: min-p alone decides
  unsigned* count;
  float* value;
  int* index;
  bool fineLevel;
  unsigned coarseBin;
  unsigned fineBin;
  float sum;
  __device__ __forceinline__ void operator()(float v, unsigned i) {
    const unsigned c = bins.coarse(v);
    if (c > coarseBin) return;
    if (c == coarseBin) {
      const unsigned f = fineLevel ? bins.fine(v, c) : 0u;
      if (f > fineBin) return;
      if (f == fineBin) {
        if (bins.fixed(v) != 0) gather_into(count, value, index, v, i);
        return;
      }
    }
    sum += keptAbove(v);
  }
};

// The bin (from bin 0, the largest values, upward) where the histogram's running mass reaches
// `want`; `remaining` gets what the bin must supply. False when the total falls short.
template <int B>
__device__ bool spread_choose(const SplitCounters& histogram, unsigned long long want, unsigned* bin,
                              unsigned long long* remaining) {
  __shared__ unsigned long long scanScratch[B / RF_WARP_SIZE];
  __shared__ unsigned chosen;
  __shared__ unsigned long long supply;
  constexpr unsigned bins = HISTOGRAM_BINS;
  constexpr unsigned per = (bins + B - 1) / B;
  if (threadIdx.x == 0) chosen = bins;
  unsigned long long local = 0;
  for (unsigned j = 0; j < per; j++) {
    const unsigned d = threadIdx.x * per + j;
    if (d < bins) local += histogram[d];
  }
  unsigned long long total;
  const unsigned long long before = block_exclusive_sum<B>(local, &total, scanScratch);
  if (before < want && before + local >= want) {
    unsigned long long acc = before;
    for (unsigned j = 0; j < per; j++) {
      const unsigned d = threadIdx.x * per + j;
      const unsigned long long h = histogram[d];
      if (h != 0 && acc + h >= want) {
        chosen = d;
        supply = want - acc;
        break;
      }
      acc += h;
    }
  }
  __syncthreads();
  *bin = chosen;
  *remaining = supply;
  const bool found = chosen < bins;
  __syncthreads();
  return found;
}

// `keptAbove` weighs the kept elements (min-p); on success, *aboveSum holds this thread's kept
// weight of the elements above the crossing bin (see spread_kept_sums).
//
// A split row (rp.parts > 1, in a kernel compiled with SPLIT) does the same over the row: each block bins its
// chunk, adds its non-zero bins to the row's histogram in the scratch (round slot 0 or 1:
// top-p alone leaves top-k's slots free) and reads the sum back after a row barrier; each block
// gathers its chunk's elements of the crossing bin into the row's buffer, and after another
// barrier every block copies the buffer and sorts it itself (the same entries, the same order
// after the sort: every block finds the same threshold). Three row barriers (four with the
// finer level) instead of the radix rounds' three contended rounds.
template <int B, bool SPLIT, typename T, unsigned G>
__device__ bool spread_top_p(const T* x, unsigned a, unsigned b, const FixedWeight& fixed, double fraction,
                             const KeptWeight& keptAbove, SharedStorage& s, CandidateBuffer& cand,
                             RowPart<B, G>& rp, int* timedOut, float* threshold, float* aboveSum) {
  __shared__ unsigned long long scanScratch[B / RF_WARP_SIZE];
  __shared__ unsigned crossing;
  const SpreadBins bins = {fixed};
  const bool split = SPLIT && rp.parts > 1;
  if (rp.parts > SPREAD_MAX_PARTS) return false;
  unsigned coarseBin = 0, fineBin = 0;
  unsigned long long remaining = 0;
  bool fineLevel = false;
  for (int level = 0; level < 2; level++) {
    fineLevel = level == 1;
    for (unsigned d = threadIdx.x; d < HISTOGRAM_BINS; d += B) s.counters.set(d, 0ull);
    __syncthreads();
    SpreadHistogram add = {bins, &s.counters, fineLevel, coarseBin};
    warp_for_each<LoadsInFlight<B>::value>(x, a, b, add);
    __syncthreads();
    if (split) {
      merge_row_histogram(s.counters, rp.scratch->histogram[level], HISTOGRAM_BINS, rp, timedOut);
      __syncthreads();
    }
    unsigned long long want = remaining;
    if (!fineLevel) {
      // ⌈fraction · total⌉ of the whole row's mass, as radix_select's first round computes it.
      __shared__ unsigned long long totalMass;
      unsigned long long local = 0;
      for (unsigned d = threadIdx.x; d < HISTOGRAM_BINS; d += B) local += s.counters[d];
      local = block_reduce<B>(local, SumOp(), scanScratch);
      if (threadIdx.x == 0) totalMass = local;
      __syncthreads();
      want = static_cast<unsigned long long>(ceil(fraction * static_cast<double>(totalMass)));
      if (want == 0) want = 1;
    }
    unsigned bin;
    if (!spread_choose<B>(s.counters, want, &bin, &remaining)) return false;
    if (fineLevel) fineBin = bin; else coarseBin = bin;
    if (threadIdx.x == 0) cand.count = 0;
    __syncthreads();
    if (!split) {
      SpreadGather pick = {bins, keptAbove, &cand.count, cand.value, cand.index, fineLevel, coarseBin, fineBin, 0.0f};
      warp_for_each<LoadsInFlight<B>::value>(x, a, b, pick);
      *aboveSum = pick.sum;
      __syncthreads();
    } else {
      // Each level gathers with its own counter into the same entries: the finer level starts
      // only after every block has read the coarse level's count (its histogram's barrier).
      unsigned* count = fineLevel ? &rp.scratch->fineCandidates : &rp.scratch->candidates;
      SpreadGather pick = {bins,      keptAbove, count, rp.scratch->candValue, rp.scratch->candIndex,
                           fineLevel, coarseBin, fineBin, 0.0f};
      warp_for_each<LoadsInFlight<B>::value>(x, a, b, pick);
      *aboveSum = pick.sum;
      rp.sync(timedOut);
      const unsigned n = *reinterpret_cast<const volatile unsigned*>(count);
      if (n <= CANDIDATE_CAPACITY) {
        const volatile float* value = rp.scratch->candValue;
        const volatile int* index = rp.scratch->candIndex;
        for (unsigned e = threadIdx.x; e < n; e += B) {
          cand.value[e] = value[e];
          cand.index[e] = index[e];
        }
      }
      if (threadIdx.x == 0) cand.count = n;
      __syncthreads();
    }
    if (cand.count <= CANDIDATE_CAPACITY) break;
    if (fineLevel) return false;
  }
  // Sort the bin's elements by value, largest first (key: ordered value, then index), and find
  // the first whose running fixed-point mass reaches `remaining`: its value is the threshold.
  const unsigned n = cand.count;
  unsigned size = 1;
  while (size < n) size <<= 1;
  unsigned long long* keys = s.histogram;
  for (unsigned e = threadIdx.x; e < size; e += B) {
    keys[e] = e < n ? (static_cast<unsigned long long>(ordered_key(cand.value[e])) << 32) |
                          static_cast<unsigned>(cand.index[e])
                    : 0ull;
  }
  bitonic_sort<B>(keys, size, true, NoPayload());
  const unsigned per = (n + B - 1) / B;
  const unsigned first = min(n, threadIdx.x * per);
  const unsigned last = min(n, first + per);
  unsigned long long local = 0;
  for (unsigned e = first; e < last; e++) local += fixed(key_to_float(static_cast<unsigned>(keys[e] >> 32)));
  if (threadIdx.x == 0) crossing = n;
  unsigned long long total;
  unsigned long long acc = block_exclusive_sum<B>(local, &total, scanScratch);
  if (acc < remaining && acc + local >= remaining) {
    for (unsigned e = first; e < last; e++) {
      acc += fixed(key_to_float(static_cast<unsigned>(keys[e] >> 32)));
      if (acc >= remaining) {
        crossing = e;
        break;
      }
    }
  }
  __syncthreads();
  const unsigned at = crossing;
  const bool found = at < n;
  if (found) *threshold = key_to_float(static_cast<unsigned>(keys[at] >> 32));
  __syncthreads();
  return found;
}

// The kept weight of each warp's segment of this block's chunk [begin, end) after spread_top_p,
// without another pass over the row:
// the elements above the crossing bin (each thread's `aboveSum`, combined in lane order), plus
// the kept elements of the bin from the candidate buffer, added to their segment's warp in
// fixed point (integer atomics: the same sum in any order). Writes warpSum[] for combine_sums.
template <int B>
__device__ void spread_kept_sums(float aboveSum, const CandidateBuffer& cand, const KeptWeight& kept,
                                 const FixedWeight& fixed, unsigned begin, unsigned end, unsigned segmentLength,
                                 double* warpSum) {
  constexpr int kWarps = B / RF_WARP_SIZE;
  __shared__ unsigned long long binWeight[kWarps];
  const int warp = threadIdx.x / RF_WARP_SIZE;
  if (threadIdx.x < kWarps) binWeight[threadIdx.x] = 0;
  __syncthreads();
  const unsigned n = cand.count;
  for (unsigned e = threadIdx.x; e < n; e += B) {
    const float v = cand.value[e];
    const unsigned i = static_cast<unsigned>(cand.index[e]);
    // A split row's buffer holds the whole row's bin: each block adds its own chunk's elements.
    if (i >= begin && i < end && kept(v) > 0.0f) atomicAdd(&binWeight[(i - begin) / segmentLength], fixed(v));
  }
  const double above = warp_reduce(static_cast<double>(aboveSum), SumOp());
  __syncthreads();
  if (threadIdx.x % RF_WARP_SIZE == 0) warpSum[warp] = above + static_cast<double>(binWeight[warp]) / fixed.scale;
  __syncthreads();
}
