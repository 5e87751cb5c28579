// Part of kernels/sampling.hip: the candidate buffer (a row's top elements in shared memory),
// bitonic sort, and the radix select that finds top-k and top-p thresholds on ordered keys.
#pragma once
#include "row_split.h"
#include "weights.h"

// The elements of a row at or above a lower bound of a threshold, gathered into shared memory
// (rows in one block only) so that the selects, the kept total and the draws need not read the
// row again: every element ≥ a bound on the k-th largest (kth_largest_bound: top-k), or every element
// whose ordered key is ≥ `edge`, a select's first digit (gathered during its second round).
// In no particular order; `count` past CANDIDATE_CAPACITY means it overflowed and is not used.
constexpr unsigned CANDIDATE_CAPACITY = 1024;
struct CandidateBuffer {
  float value[CANDIDATE_CAPACITY];
  int index[CANDIDATE_CAPACITY];
  unsigned count;
  unsigned edge;
  unsigned kept;  // after compaction: the kept entries, sorted by index, in the block's scratch
};

// Adds a candidate's weight to its digit's bin when its higher digits match the prefix so far.
template <typename Candidate, typename Fixed>
struct HistogramOf {
  Candidate candidate;
  Fixed weigh;
  SplitCounters* histogram;
  unsigned prefix;
  int highShift;
  int shift;
  unsigned mask;
  __device__ __forceinline__ void operator()(float v, unsigned) const {
    if (!candidate(v)) return;
    const unsigned key = ordered_key(v);
    if (highShift < 32 && (key >> highShift) != (prefix >> highShift)) return;
    const unsigned long long w = weigh(v);
    if (w != 0) histogram->add((key >> shift) & mask, w);
  }
};

static_assert(CANDIDATE_CAPACITY == SPLIT_CANDIDATES, "a split row's buffer fills the block's");

// Appends one element to a buffer (shared or device memory); once it is full no more atomics
// are spent.
__device__ __forceinline__ void gather_into(unsigned* count, float* value, int* index, float v, unsigned i) {
  const unsigned seen = *reinterpret_cast<volatile unsigned*>(count);
  if (seen >= CANDIDATE_CAPACITY) {
    // Full: one more candidate marks it incomplete (count past the capacity), with one atomic.
    if (seen == CANDIDATE_CAPACITY) atomicMax(count, CANDIDATE_CAPACITY + 1);
    return;
  }
  const unsigned slot = atomicAdd(count, 1u);
  if (slot < CANDIDATE_CAPACITY) {
    value[slot] = v;
    index[slot] = static_cast<int>(i);
  }
}
__device__ __forceinline__ void gather(CandidateBuffer* buffer, float v, unsigned i) {
  gather_into(&buffer->count, buffer->value, buffer->index, v, i);
}
// The second round's histogram, also gathering every candidate whose key is ≥ `edge` (the first
// round's digit and above).
template <typename Candidate, typename Fixed>
struct HistogramAndGather {
  HistogramOf<Candidate, Fixed> add;
  CandidateBuffer* buffer;
  __device__ __forceinline__ void operator()(float v, unsigned i) const {
    add(v, i);
    if (add.candidate(v) && ordered_key(v) >= buffer->edge) gather(buffer, v, i);
  }
};
// Gathers every element ≥ `bound` (a lower bound of the top-k threshold).
struct GatherAtLeast {
  float bound;
  CandidateBuffer* buffer;
  __device__ __forceinline__ void operator()(float v, unsigned i) const {
    if (v >= bound) gather(buffer, v, i);
  }
};
// The same into a split row's buffer in device memory.
struct GatherAtLeastToRow {
  float bound;
  RowScratch* scratch;
  __device__ __forceinline__ void operator()(float v, unsigned i) const {
    if (v >= bound) gather_into(&scratch->candidates, scratch->candValue, scratch->candIndex, v, i);
  }
};

// Bitonic sort of `size` (a power of two) keys in shared memory, ascending or descending, moving
// `payload` with them (`swap(i, j)` exchanges whatever travels with the keys). The whole block
// calls it; it begins and ends with a barrier.
template <int B, typename Key, typename Swap>
__device__ void bitonic_sort(Key* keys, unsigned size, bool descending, Swap swap) {
  for (unsigned span = 2; span <= size; span <<= 1) {
    for (unsigned stride = span >> 1; stride > 0; stride >>= 1) {
      __syncthreads();
      for (unsigned t = threadIdx.x; t < size / 2; t += B) {
        const unsigned i = 2 * t - (t & (stride - 1));
        const unsigned j = i + stride;
        const Key a = keys[i];
        const Key b = keys[j];
        if ((descending ? a < b : a > b) == ((i & span) == 0)) {
          keys[i] = b;
          keys[j] = a;
          swap(i, j);
        }
      }
    }
  }
  __syncthreads();
}
struct NoPayload {
  __device__ void operator()(unsigned, unsigned) const {}
};
struct FloatPayload {
  float* values;
  __device__ void operator()(unsigned i, unsigned j) const {
    const float v = values[i];
    values[i] = values[j];
    values[j] = v;
  }
};

// A lower bound on the row's k-th largest value (k ≤ B) from the threads' own maxima, without
// sorting them: with c = ⌈k / warps⌉, each warp ranks its lanes' maxima by shuffles (larger
// first, then lower lane) and offers its c largest; the k-th largest of the offers (ranked the
// same way by the threads holding them, warps × c ≤ B of them) is the bound. The offers are
// distinct elements of the row, so k of them are at or above it. It is the k-th largest thread
// maximum itself when no warp holds more than c of the k largest, and lower (more candidates,
// never a wrong threshold) otherwise; one shuffle loop and two barriers where a bitonic sort of
// the B maxima took dozens: the sort was most of a one-row call's top-k time
// (docs/PERFORMANCE.md, version 9). Lanes that saw no valid element offer -Infinity, which can only lower the bound
// (more candidates; the caller checks the buffer for overflow). `scratch` holds B floats.
template <int B>
__device__ float kth_largest_bound(float mine, int k, float* scratch) {
  constexpr int kWarps = B / RF_WARP_SIZE;
  __shared__ float bound;
  const unsigned c = (static_cast<unsigned>(k) + kWarps - 1) / kWarps;  // ≤ RF_WARP_SIZE since k ≤ B
  const unsigned lane = threadIdx.x % RF_WARP_SIZE;
  unsigned rank = 0;
#pragma unroll 8
  for (int j = 0; j < RF_WARP_SIZE; j++) {
    const float o = rf_shfl(mine, j);
    rank += (o > mine || (o == mine && static_cast<unsigned>(j) < lane)) ? 1u : 0u;
  }
  if (rank < c) scratch[(threadIdx.x / RF_WARP_SIZE) * c + rank] = mine;
  __syncthreads();
  const unsigned offers = kWarps * c;
  if (threadIdx.x < offers) {
    const float v = scratch[threadIdx.x];
    unsigned r = 0;
    for (unsigned j = 0; j < offers; j++) {
      const float o = scratch[j];
      r += (o > v || (o == v && j < threadIdx.x)) ? 1u : 0u;
    }
    if (r == static_cast<unsigned>(k) - 1) bound = v;
  }
  __syncthreads();
  return bound;
}

// A split row's histogram: each block adds its non-zero bins to the row's copy in device memory
// (`row`, cleared before the launch's first row barrier), the blocks meet, and each reads the
// sums back into its own counters. Called after a barrier that follows the block's adds; the
// caller's next barrier orders the read-back.
template <int B, unsigned G>
__device__ void merge_row_histogram(SplitCounters& counters, unsigned long long* row, unsigned bins,
                                    RowPart<B, G>& rp, int* timedOut) {
  for (unsigned d = threadIdx.x; d < bins; d += B) {
    const unsigned long long h = counters[d];
    if (h != 0) atomicAdd(&row[d], h);
  }
  rp.sync(timedOut);
  const volatile unsigned long long* merged = row;
  for (unsigned d = threadIdx.x; d < bins; d += B) counters.set(d, merged[d]);
}

// Radix select over the ordered keys of the row's candidates (those passing `candidate`): the
// value v such that the weight of candidates above v is below the target and the weight of
// those ≥ v reaches it. Weights are counts (`weigh` returns 1) or fixed-point masses: integers,
// so the histograms sum the same whatever the order of the atomics (deterministic). Three
// rounds of 11, 11 and 10 bits. The target is `target`, or, when `fraction` ≥ 0, ⌈fraction ×
// the candidates' total weight⌉ (known after the first round). A target above the total keeps
// every candidate. With a split row, each block histograms its chunk in shared memory, adds the
// non-zero bins to the row's histogram for the round (`slot`), and after the row barrier every
// block reads the whole histogram and makes the same choice.
template <int B, typename T, typename Candidate, typename Fixed>
__device__ float radix_select(const T* x, RowPart<B, Vector<T>::N>& rp, int* timedOut, Candidate candidate, Fixed weigh,
                              unsigned long long target, double fraction, int slot, SharedStorage& s,
                              CandidateBuffer* buffer = nullptr, bool fromBuffer = false) {
  __shared__ unsigned chosenDigit;
  __shared__ unsigned long long remaining;
  __shared__ unsigned long long scanScratch[B / RF_WARP_SIZE];
  __shared__ int intScratch[B / RF_WARP_SIZE];
  unsigned prefix = 0;
  if (threadIdx.x == 0) remaining = target;
  const int shifts[3] = {21, 10, 0};
  const unsigned masks[3] = {0x7ff, 0x7ff, 0x3ff};
  unsigned a, b;
  rp.segment(threadIdx.x / RF_WARP_SIZE, &a, &b);
  // Gather in the second round when a buffer is given and the row is this block's alone.
  const bool gather = buffer != nullptr && !fromBuffer && rp.parts == 1;
  for (int round = 0; round < 3; round++) {
    const int shift = shifts[round];
    const unsigned bins = masks[round] + 1;
    for (unsigned d = threadIdx.x; d < bins; d += B) s.counters.set(d, 0ull);
    if (gather && round == 1 && threadIdx.x == 0) {
      buffer->count = 0;
      buffer->edge = prefix;
    }
    __syncthreads();
    HistogramOf<Candidate, Fixed> add = {candidate, weigh, &s.counters, prefix, round == 0 ? 32 : shifts[round - 1],
                                         shift, masks[round]};
    if (fromBuffer) {
      const unsigned n = buffer->count;
      for (unsigned e = threadIdx.x; e < n; e += B) add(buffer->value[e], 0u);
    } else if (gather && round == 1) {
      HistogramAndGather<Candidate, Fixed> both = {add, buffer};
      warp_for_each<LoadsInFlight<B>::value>(x, a, b, both);
    } else {
      warp_for_each<LoadsInFlight<B>::value>(x, a, b, add);
    }
    if (rp.parts > 1) {
      __syncthreads();
      merge_row_histogram(s.counters, rp.scratch->histogram[slot + round], bins, rp, timedOut);
    }
    __syncthreads();
    // A complete buffer serves the last round.
    if (gather && round == 1 && buffer->count <= CANDIDATE_CAPACITY) fromBuffer = true;
    // Choose the digit in parallel: thread t owns `per` consecutive digits counted from the
    // top; an exclusive scan of the owners' sums gives each the weight above its digits, and
    // the one thread whose digits contain the crossing writes it.
    {
      const unsigned per = (bins + B - 1) / B;
      unsigned long long local = 0;
      int lowestMine = 0x7fffffff;
      for (unsigned j = 0; j < per; j++) {
        const int d = static_cast<int>(bins) - 1 - static_cast<int>(threadIdx.x * per + j);
        if (d < 0) break;
        const unsigned long long h = s.counters[d];
        local += h;
        if (h != 0) lowestMine = d;
      }
      unsigned long long total;
      const unsigned long long above = block_exclusive_sum<B>(local, &total, scanScratch);
      unsigned long long want = remaining;
      if (round == 0 && fraction >= 0.0) {
        // ⌈fraction · total⌉: the smallest integer mass that reaches the fraction of the total.
        want = static_cast<unsigned long long>(ceil(fraction * static_cast<double>(total)));
        if (want == 0) want = 1;
      }
      if (total < want) {
        // Rounding left the whole weight short of the target: keep everything down to the lowest digit.
        const int lowest = block_reduce<B>(lowestMine, MinOp(), intScratch);
        if (threadIdx.x == 0) {
          chosenDigit = lowest == 0x7fffffff ? 0u : static_cast<unsigned>(lowest);
          remaining = ~0ull;
        }
      } else if (above < want && above + local >= want) {
        unsigned long long acc = above;
        for (unsigned j = 0; j < per; j++) {
          const int d = static_cast<int>(bins) - 1 - static_cast<int>(threadIdx.x * per + j);
          const unsigned long long h = s.counters[d];
          if (h != 0 && acc + h >= want) {
            chosenDigit = static_cast<unsigned>(d);
            remaining = want - acc;
            break;
          }
          acc += h;
        }
      }
    }
    __syncthreads();
    prefix |= chosenDigit << shift;
    __syncthreads();
  }
  return key_to_float(prefix);
}

// A complete candidate buffer this small is selected from by ranking instead of radix rounds:
// each entry counts the entries before it in (value descending, index ascending) order — O(n²)
// compares over the block, about what one radix round costs at n = 256, against the rounds'
// eighteen barriers and histogram clears — and the block scans the weights in that order.
constexpr unsigned RANK_CANDIDATES = 256;

// The threshold radix_select finds from a complete buffer (fromBuffer) of at most
// RANK_CANDIDATES entries: the same candidates, weights, target and rule, on the same ordered
// keys. The candidates (those passing `candidate`: every entry, or those at or above a value)
// are the first entries in key order, so the others simply weigh nothing. The block calls it;
// `s` is free scratch.
template <int B, typename Candidate, typename Fixed>
__device__ float buffer_select(const CandidateBuffer& cand, Candidate candidate, Fixed weigh,
                               unsigned long long target, double fraction, SharedStorage& s) {
  static_assert(RANK_CANDIDATES * 12 <= sizeof(SharedStorage), "the ranked entries fit the block's scratch");
  __shared__ unsigned long long scanScratch[B / RF_WARP_SIZE];
  __shared__ int intScratch[B / RF_WARP_SIZE];
  __shared__ unsigned chosenKey;
  unsigned long long* sortedWeight = s.histogram;
  unsigned* sortedKey = reinterpret_cast<unsigned*>(s.histogram + RANK_CANDIDATES);
  const unsigned n = cand.count;
  for (unsigned e = threadIdx.x; e < n; e += B) {
    const float v = cand.value[e];
    const unsigned key = ordered_key(v);
    const int index = cand.index[e];
    unsigned rank = 0;
    for (unsigned j = 0; j < n; j++) {
      const unsigned other = ordered_key(cand.value[j]);
      rank += (other > key || (other == key && cand.index[j] < index)) ? 1u : 0u;
    }
    sortedKey[rank] = key;
    sortedWeight[rank] = candidate(v) ? static_cast<unsigned long long>(weigh(v)) : 0ull;
  }
  if (threadIdx.x == 0) chosenKey = 0u;
  __syncthreads();
  // Thread t owns `per` consecutive positions in key order; a scan gives each the weight above them.
  const unsigned per = (n + B - 1) / B;
  const unsigned first = min(n, threadIdx.x * per);
  const unsigned last = min(n, first + per);
  unsigned long long local = 0;
  int lastWeighed = -1;
  for (unsigned e = first; e < last; e++) {
    local += sortedWeight[e];
    if (sortedWeight[e] != 0) lastWeighed = static_cast<int>(e);
  }
  unsigned long long total;
  const unsigned long long above = block_exclusive_sum<B>(local, &total, scanScratch);
  unsigned long long want = target;
  if (fraction >= 0.0) {
    want = static_cast<unsigned long long>(ceil(fraction * static_cast<double>(total)));
    if (want == 0) want = 1;
  }
  if (total < want) {
    // As radix_select: everything down to the lowest key with weight (key 0 when none has any).
    const int lowest = block_reduce<B>(lastWeighed, MaxOp(), intScratch);
    if (threadIdx.x == 0 && lowest >= 0) chosenKey = sortedKey[lowest];
  } else if (above < want && above + local >= want) {
    unsigned long long acc = above;
    for (unsigned e = first; e < last; e++) {
      acc += sortedWeight[e];
      if (sortedWeight[e] != 0 && acc >= want) {
        chosenKey = sortedKey[e];
        break;
      }
    }
  }
  __syncthreads();
  const float threshold = key_to_float(chosenKey);
  __syncthreads();
  return threshold;
}

// Candidate predicates and weights for radix_select, as plain functors (no device lambdas:
// NVRTC and hipRTC compile this file too, and NVRTC has no extended-lambda mode).
struct EveryCandidate {
  __device__ bool operator()(float) const { return true; }
};
struct AtLeast {
  float base;
  __device__ bool operator()(float v) const { return v >= base; }
};
struct UnitWeight {
  __device__ unsigned long long operator()(float) const { return 1ull; }
};

// Fixed-point scale for masses, 2^(62 − ⌈log2 vocab⌉): weights ≤ 1 each, sums below 2^63 for
// any vocabulary.
__device__ __forceinline__ FixedWeight fixed_weight(const Weigher& weigh, unsigned vocab) {
  int bits = 0;
  while ((1u << bits) < vocab && bits < 31) bits++;
  return FixedWeight{weigh, ldexp(1.0, 62 - bits), ldexpf(1.0f, 62 - bits)};
}
