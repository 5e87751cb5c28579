// rocmforge's sampling kernels. One block per row; the block loops over the row, so the
// vocabulary size is bounded by nothing but memory (no shared-memory ceiling). Each kernel
// follows docs/GPU_SAMPLER.md "Semantics" and reproduces packages/sampler/src/cpu/*.
#include "block.h"
#include "philox.h"
#include "row_split.h"

#ifndef RF_BLOCK
#define RF_BLOCK 1024
#endif
constexpr int BLOCK = RF_BLOCK;
#ifndef RF_NARROW_BLOCK
#define RF_NARROW_BLOCK 256
#endif
static_assert(RF_NARROW_BLOCK % RF_WARP_SIZE == 0 && RF_NARROW_BLOCK <= RF_BLOCK, "narrow blocks are whole warps");
// Narrow blocks resident per multiprocessor that the compiler must leave registers for.
#ifndef RF_NARROW_MIN_BLOCKS
#define RF_NARROW_MIN_BLOCKS 6
#endif
// +Infinity from its bits (NVRTC has no __builtin_huge_valf).
#define RF_INF (__int_as_float(0x7f800000))

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
// ⌊w · 2^scaleExponent⌋. Built from the float's bits with integer operations (no double in the
// histogram loops); for w < 2 it equals ⌊(double)w · scale⌋ bit for bit (checked exhaustively
// over [0, 1] on the host). Larger weights (unnormalised probabilities) take the double route.
struct FixedWeight {
  Weigher weigh;
  double scale;
  int scaleExponent;
  __device__ __forceinline__ unsigned long long operator()(float v) const {
    const float w = weigh(v);
    const unsigned bits = __float_as_uint(w);
    const int exponent = static_cast<int>((bits >> 23) & 0xffu);
    if (exponent == 0) return 0ull;  // zero or subnormal: below 2^-126, far below one unit
    if (exponent > 127) return static_cast<unsigned long long>(static_cast<double>(w) * scale);
    const unsigned long long mantissa = (bits & 0x7fffffu) | 0x800000u;
    const int shift = exponent - 150 + scaleExponent;
    return shift >= 0 ? mantissa << shift : (shift > -64 ? mantissa >> -shift : 0ull);
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

union SharedStorage {
  unsigned long long histogram[2048];
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

// The elements of a row at or above a lower bound of a threshold, gathered into shared memory
// (rows in one block only) so that the selects, the kept total and the draws need not read the
// row again: every element ≥ the k-th largest of the threads' maxima (top-k), or every element
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
  unsigned long long* histogram;
  unsigned prefix;
  int highShift;
  int shift;
  unsigned mask;
  __device__ __forceinline__ void operator()(float v, unsigned) const {
    if (!candidate(v)) return;
    const unsigned key = ordered_key(v);
    if (highShift < 32 && (key >> highShift) != (prefix >> highShift)) return;
    const unsigned long long w = weigh(v);
    if (w != 0) atomicAdd(&histogram[(key >> shift) & mask], w);
  }
};

// Appends one element to the buffer; once it is full no more atomics are spent.
__device__ __forceinline__ void gather(CandidateBuffer* buffer, float v, unsigned i) {
  const unsigned seen = *reinterpret_cast<volatile unsigned*>(&buffer->count);
  if (seen >= CANDIDATE_CAPACITY) {
    // Full: one more candidate marks it incomplete (count past the capacity), with one atomic.
    if (seen == CANDIDATE_CAPACITY) atomicMax(&buffer->count, CANDIDATE_CAPACITY + 1);
    return;
  }
  const unsigned slot = atomicAdd(&buffer->count, 1u);
  if (slot < CANDIDATE_CAPACITY) {
    buffer->value[slot] = v;
    buffer->index[slot] = static_cast<int>(i);
  }
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

// The k-th largest of the block's per-thread maxima (k ≤ B): k distinct elements of the row are
// at least it, so it bounds the row's top-k threshold from below. `scratch` holds B floats.
template <int B>
__device__ float kth_largest_of_threads(float mine, int k, float* scratch) {
  static_assert((B & (B - 1)) == 0, "the sort takes a power of two");
  scratch[threadIdx.x] = mine;
  bitonic_sort<B>(scratch, static_cast<unsigned>(B), true, NoPayload());
  const float kth = scratch[k - 1];
  __syncthreads();
  return kth;
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
template <int B, typename Candidate, typename Fixed>
__device__ float radix_select(const float* x, RowPart<B>& rp, int* timedOut, Candidate candidate, Fixed weigh,
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
    for (unsigned d = threadIdx.x; d < bins; d += B) s.histogram[d] = 0;
    if (gather && round == 1 && threadIdx.x == 0) {
      buffer->count = 0;
      buffer->edge = prefix;
    }
    __syncthreads();
    HistogramOf<Candidate, Fixed> add = {candidate, weigh, s.histogram, prefix, round == 0 ? 32 : shifts[round - 1],
                                         shift, masks[round]};
    if (fromBuffer) {
      const unsigned n = buffer->count;
      for (unsigned e = threadIdx.x; e < n; e += B) add(buffer->value[e], 0u);
    } else if (gather && round == 1) {
      HistogramAndGather<Candidate, Fixed> both = {add, buffer};
      warp_for_each(x, a, b, both);
    } else {
      warp_for_each(x, a, b, add);
    }
    if (rp.parts > 1) {
      __syncthreads();
      unsigned long long* shared = rp.scratch->histogram[slot + round];
      for (unsigned d = threadIdx.x; d < bins; d += B) {
        const unsigned long long h = s.histogram[d];
        if (h != 0) atomicAdd(&shared[d], h);
      }
      rp.sync(timedOut);
      const volatile unsigned long long* merged = shared;
      for (unsigned d = threadIdx.x; d < bins; d += B) s.histogram[d] = merged[d];
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
        const unsigned long long h = s.histogram[d];
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
          const unsigned long long h = s.histogram[d];
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
  return FixedWeight{weigh, ldexp(1.0, 62 - bits), 62 - bits};
}

// ---------------------------------------------------------------------------------------
// rf_sample: every sampling mode in one launch for a [batch, vocab] matrix — greedy, plain
// multinomial, temperature, top-k, top-p, min-p, top-k+top-p in either order — from logits or
// probabilities, per-row parameters from device arrays, `samples` draws per row.
//
// Grid: batch × parts blocks; a row is split over `parts` blocks (see row_split.h) when the
// batch leaves the chip idle, with `scratch` holding batch RowScratch records (zeroed once).
// Passes over the row: one for plain sampling from logits at T > 0 or from probabilities at
// T = 1 (maximum and an online sum of exp((x − max)/T) together); otherwise one for the
// maximum, three per radix select, and one for the kept total. A draw then re-reads one warp's
// segment of the row.
//
// valid (per row): 1 sampled; 0 nothing to sample (all -Infinity / all zero); 2 invalid values
// (NaN; negative, NaN or infinite probabilities); 3 the row's blocks failed to meet (an
// over-subscribed device): the scratch must be zeroed again.
// rowStats (6 floats per row, may be null): weight mode, max, 1/T, kept total, threshold,
// min weight — what the log-probability kernels need to describe the sampled distribution.

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
    const bool ok = kind == 0 ? !isnan(v) : (v >= 0.0f && v < RF_INF);
    if (!ok) {
      bad = 1;
      return;
    }
    const bool larger = arg < 0 || v > max;
    if (online) {
      if (kind != 0) {
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
};
struct KeptSum {
  KeptWeight kept;
  float sum;  // per thread; warps and blocks combine in double
  __device__ __forceinline__ void operator()(float v, unsigned) { sum += kept(v); }
};

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
  unsigned long long* histogram;
  bool fineLevel;
  unsigned coarseBin;
  __device__ __forceinline__ void operator()(float v, unsigned) const {
    const unsigned long long w = bins.fixed(v);
    if (w == 0) return;
    const unsigned c = bins.coarse(v);
    if (!fineLevel) {
      atomicAdd(&histogram[c], w);
    } else if (c == coarseBin) {
      atomicAdd(&histogram[bins.fine(v, c)], w);
    }
  }
};

// Gathers the elements of weight > 0 in level-1 bin `coarseBin` (and, at level 2, fine bin
// `fineBin`), and sums the kept weights of the elements above the bin (all of them above the
// threshold): per thread, in the order of warp_for_each, as the kept-total pass would.
struct SpreadGather {
  SpreadBins bins;
  KeptWeight keptAbove;  // threshold -Infinity: min-p alone decides
  CandidateBuffer* buffer;
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
        if (bins.fixed(v) != 0) gather(buffer, v, i);
        return;
      }
    }
    sum += keptAbove(v);
  }
};

// The bin (from bin 0, the largest values, upward) where the histogram's running mass reaches
// `want`; `remaining` gets what the bin must supply. False when the total falls short.
template <int B>
__device__ bool spread_choose(const unsigned long long* histogram, unsigned long long want, unsigned* bin,
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
template <int B>
__device__ bool spread_top_p(const float* x, unsigned a, unsigned b, const FixedWeight& fixed, double fraction,
                             const KeptWeight& keptAbove, SharedStorage& s, CandidateBuffer& cand, float* threshold,
                             float* aboveSum) {
  __shared__ unsigned long long scanScratch[B / RF_WARP_SIZE];
  __shared__ unsigned crossing;
  const SpreadBins bins = {fixed};
  unsigned coarseBin = 0, fineBin = 0;
  unsigned long long remaining = 0;
  bool fineLevel = false;
  for (int level = 0; level < 2; level++) {
    fineLevel = level == 1;
    for (unsigned d = threadIdx.x; d < HISTOGRAM_BINS; d += B) s.histogram[d] = 0;
    __syncthreads();
    SpreadHistogram add = {bins, s.histogram, fineLevel, coarseBin};
    warp_for_each(x, a, b, add);
    __syncthreads();
    unsigned long long want = remaining;
    if (!fineLevel) {
      // ⌈fraction · total⌉ of the whole row's mass, as radix_select's first round computes it.
      __shared__ unsigned long long totalMass;
      unsigned long long local = 0;
      for (unsigned d = threadIdx.x; d < HISTOGRAM_BINS; d += B) local += s.histogram[d];
      local = block_reduce<B>(local, SumOp(), scanScratch);
      if (threadIdx.x == 0) totalMass = local;
      __syncthreads();
      want = static_cast<unsigned long long>(ceil(fraction * static_cast<double>(totalMass)));
      if (want == 0) want = 1;
    }
    unsigned bin;
    if (!spread_choose<B>(s.histogram, want, &bin, &remaining)) return false;
    if (fineLevel) fineBin = bin; else coarseBin = bin;
    if (threadIdx.x == 0) cand.count = 0;
    __syncthreads();
    SpreadGather pick = {bins, keptAbove, &cand, fineLevel, coarseBin, fineBin, 0.0f};
    warp_for_each(x, a, b, pick);
    *aboveSum = pick.sum;
    __syncthreads();
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

// The kept weight of each warp's segment after spread_top_p, without another pass over the row:
// the elements above the crossing bin (each thread's `aboveSum`, combined in lane order), plus
// the kept elements of the bin from the candidate buffer, added to their segment's warp in
// fixed point (integer atomics: the same sum in any order). Writes warpSum[] for combine_sums.
template <int B>
__device__ void spread_kept_sums(float aboveSum, const CandidateBuffer& cand, const KeptWeight& kept,
                                 const FixedWeight& fixed, unsigned segmentLength, double* warpSum) {
  constexpr int kWarps = B / RF_WARP_SIZE;
  __shared__ unsigned long long binWeight[kWarps];
  const int warp = threadIdx.x / RF_WARP_SIZE;
  if (threadIdx.x < kWarps) binWeight[threadIdx.x] = 0;
  __syncthreads();
  const unsigned n = cand.count;
  for (unsigned e = threadIdx.x; e < n; e += B) {
    const float v = cand.value[e];
    if (kept(v) > 0.0f) atomicAdd(&binWeight[static_cast<unsigned>(cand.index[e]) / segmentLength], fixed(v));
  }
  const double above = warp_reduce(static_cast<double>(aboveSum), SumOp());
  __syncthreads();
  if (threadIdx.x % RF_WARP_SIZE == 0) warpSum[warp] = above + static_cast<double>(binWeight[warp]) / fixed.scale;
  __syncthreads();
}

// Shared state of one block of rf_sample.
struct SampleShared {
  SharedStorage s;
  float warpMax[BLOCK / RF_WARP_SIZE];
  int warpArg[BLOCK / RF_WARP_SIZE];
  int warpBad[BLOCK / RF_WARP_SIZE];
  double warpSum[BLOCK / RF_WARP_SIZE];      // weights of each warp's segment (relative to warpMax when online)
  double warpInclusive[BLOCK / RF_WARP_SIZE];  // running kept weight of the row at the end of each segment
  double partInclusive[MAX_PARTS];            // running kept weight of the row at the end of each chunk
  double partSum[MAX_PARTS];
  float rowMax;
  int rowArg;
  int rowBad;
  double total;
  int lastPart;  // the last chunk with kept weight, for draws that rounding puts past the total
  int lastWarp;
  int timedOut;
};

// Block sums of the warp sums (in warp order; online sums of logits rescaled to the row maximum
// `max`), then the row's chunks combined: sh.partInclusive, sh.total, sh.lastPart, and this
// block's warpInclusive.
template <int B>
__device__ void combine_sums(SampleShared& sh, RowPart<B>& rp, bool online, bool rescale, float max,
                             float inverseTemperature, const float* partMax) {
  constexpr int kWarps = B / RF_WARP_SIZE;
  if (threadIdx.x == 0) {
    double running = 0.0;
    int lastWarp = -1;
    for (int w = 0; w < kWarps; w++) {
      const double sw = online ? rescaled(sh.warpSum[w], sh.warpMax[w], max, inverseTemperature, rescale) : sh.warpSum[w];
      running += sw;
      sh.warpInclusive[w] = running;
      if (sw > 0.0) lastWarp = w;
    }
    sh.lastWarp = lastWarp;
    sh.partSum[0] = running;
  }
  __syncthreads();
  double mine = 0.0;
  if (rp.parts > 1) {
    // Online sums were published with the chunk maxima, relative to them, before the first
    // barrier; other sums are published now.
    if (!online) {
      if (threadIdx.x == 0) rp.scratch->sums[rp.part] = sh.partSum[0];
      rp.sync(&sh.timedOut);
    }
    if (threadIdx.x < rp.parts) {
      const volatile double* sums = rp.scratch->sums;
      mine = sums[threadIdx.x];
      if (online) mine = rescaled(mine, partMax[threadIdx.x], max, inverseTemperature, rescale);
    }
  } else if (threadIdx.x == 0) {
    mine = sh.partSum[0];
  }
  double total;
  const double before = block_exclusive_sum<B>(mine, &total, sh.s.doubles);
  const int lastPart = block_reduce<B>(mine > 0.0 ? static_cast<int>(threadIdx.x) : -1, MaxOp(), sh.s.ints);
  if (threadIdx.x < rp.parts) {
    sh.partInclusive[threadIdx.x] = before + mine;
    sh.partSum[threadIdx.x] = mine;
  }
  if (threadIdx.x == 0) {
    sh.total = total;
    sh.lastPart = lastPart;
  }
  __syncthreads();
  // This block's warps, offset by the weight of the chunks before it.
  if (threadIdx.x < kWarps) {
    const double offset = sh.partInclusive[rp.part] - sh.partSum[rp.part];
    sh.warpInclusive[threadIdx.x] += offset;
  }
  __syncthreads();
}

// The first kept element of x[a, b) past `target` (running weight from `running`), with the whole
// block: each thread sums a few consecutive elements, a block scan places them, and the thread
// holding the crossing finds it. Faster than one warp walking when there are few draws.
template <int B>
__device__ int block_walk(const float* x, unsigned a, unsigned b, const KeptWeight& kept, double running,
                          double target, SharedStorage& s) {
  const unsigned per = (b - a + B - 1) / B;
  const unsigned first = min(b, a + threadIdx.x * per);
  const unsigned last = min(b, first + per);
  double local = 0.0;
  int lastKept = -1;
  for (unsigned i = first; i < last; i++) {
    const float w = kept(x[i]);
    local += w;
    if (w > 0.0f) lastKept = static_cast<int>(i);
  }
  double total;
  const double before = block_exclusive_sum<B>(local, &total, s.doubles);
  int mine = 0x7fffffff;
  if (running + before + local > target) {
    double acc = running + before;
    for (unsigned i = first; i < last; i++) {
      const float w = kept(x[i]);
      acc += w;
      if (w > 0.0f && acc > target) {
        mine = static_cast<int>(i);
        break;
      }
    }
  }
  mine = block_reduce<B>(mine, MinOp(), s.ints);
  if (mine != 0x7fffffff) return mine;
  return block_reduce<B>(lastKept, MaxOp(), s.ints);
}

// The draws. Few draws: one at a time, the block whose chunk holds the target walking the
// segment that holds it together. Many: warp w of each block takes draws w, w + kWarps, …
// and walks alone.
template <int B>
__device__ void draw_tokens(SampleShared& sh, const RowPart<B>& rp, const float* x, const KeptWeight& kept,
                            unsigned samples, int* out, unsigned seedLo, unsigned seedHi, unsigned stepLo,
                            unsigned stepHi, unsigned stream) {
  constexpr int kWarps = B / RF_WARP_SIZE;
  const int warp = threadIdx.x / RF_WARP_SIZE;
  const unsigned lane = threadIdx.x % RF_WARP_SIZE;
  const int parts = static_cast<int>(rp.parts);
  const bool together = samples < static_cast<unsigned>(kWarps);
  for (unsigned draw = together ? 0 : warp; draw < samples; draw += together ? 1 : kWarps) {
    const double target = rf_uniform53(seedLo, seedHi, stepLo, stepHi, stream, draw) * sh.total;
    // First chunk whose running weight passes the target (binary search; the running weights
    // never decrease), else the last chunk with weight.
    int lo = 0, hi = parts;
    while (lo < hi) {
      const int mid = (lo + hi) / 2;
      if (sh.partInclusive[mid] > target) hi = mid; else lo = mid + 1;
    }
    const int part = lo < parts ? lo : (sh.lastPart >= 0 ? sh.lastPart : 0);
    if (part != static_cast<int>(rp.part)) continue;
    int w = 0;
    while (w < kWarps && !(sh.warpInclusive[w] > target)) w++;
    if (w == kWarps) w = sh.lastWarp;
    int token = -1;
    if (w >= 0) {
      unsigned a, b;
      rp.segment(w, &a, &b);
      const double running = w == 0 ? sh.partInclusive[rp.part] - sh.partSum[rp.part] : sh.warpInclusive[w - 1];
      if (together) {
        token = block_walk<B>(x, a, b, kept, running, target, sh.s);
      } else {
        int lastKept = -1;
        token = warp_walk(x, a, b, kept, running, target, &lastKept);
        if (token < 0) token = lastKept;
      }
    }
    // The row maximum is kept by every filter: the answer when rounding left nothing else.
    if (token < 0) token = sh.rowArg;
    if (together ? threadIdx.x == 0 : lane == 0) out[draw] = token;
  }
}

// The kept entries of a candidate buffer, laid out in the block's scratch (free once the
// selects are done): weights, indices and inclusive running sums, up to CANDIDATE_CAPACITY each.
struct KeptEntries {
  float* weight;
  int* index;
  double* running;
  __device__ explicit KeptEntries(SharedStorage& s)
      : weight(reinterpret_cast<float*>(s.histogram)),
        index(reinterpret_cast<int*>(weight + CANDIDATE_CAPACITY)),
        running(reinterpret_cast<double*>(index + CANDIDATE_CAPACITY)) {
    static_assert(sizeof(SharedStorage) >= CANDIDATE_CAPACITY * (4 + 4 + 8), "kept entries fit the block's scratch");
  }
};

// The kept entries of a complete candidate buffer, compacted, sorted by index (bitonic sort in
// shared memory) and summed in index order: the kept total without reading the row again.
// Leaves them in KeptEntries(s) and their number in cand.kept.
template <int B>
__device__ double buffer_kept_total(CandidateBuffer& cand, const KeptWeight& kept, SharedStorage& s) {
  __shared__ unsigned countScratch[B / RF_WARP_SIZE];
  __shared__ double sumScratch[B / RF_WARP_SIZE];
  const KeptEntries entries(s);
  float* weight = entries.weight;
  int* index = entries.index;
  double* running = entries.running;
  const unsigned n = cand.count;
  // Compaction: each thread takes consecutive entries; a block scan gives each its first slot.
  unsigned first = min(n, threadIdx.x * ((n + B - 1) / B));
  unsigned last = min(n, first + (n + B - 1) / B);
  unsigned local = 0;
  for (unsigned e = first; e < last; e++) local += kept(cand.value[e]) > 0.0f ? 1u : 0u;
  unsigned m;
  unsigned slot = block_exclusive_sum<B>(local, &m, countScratch);
  for (unsigned e = first; e < last; e++) {
    const float w = kept(cand.value[e]);
    if (w > 0.0f) {
      weight[slot] = w;
      index[slot] = cand.index[e];
      slot++;
    }
  }
  unsigned size = 1;
  while (size < m) size <<= 1;
  for (unsigned e = m + threadIdx.x; e < size; e += B) {
    weight[e] = 0.0f;
    index[e] = 0x7fffffff;
  }
  // Sorted by index (indices are distinct; padding sorts last).
  bitonic_sort<B>(index, size, false, FloatPayload{weight});
  // Running sums in index order.
  first = min(m, threadIdx.x * ((m + B - 1) / B));
  last = min(m, first + (m + B - 1) / B);
  double sum = 0.0;
  for (unsigned e = first; e < last; e++) sum += weight[e];
  double total;
  double acc = block_exclusive_sum<B>(sum, &total, sumScratch);
  for (unsigned e = first; e < last; e++) {
    acc += weight[e];
    running[e] = acc;
  }
  if (threadIdx.x == 0) cand.kept = m;
  __syncthreads();
  return total;
}

// Draws from the sorted kept entries of buffer_kept_total: the first entry whose running sum
// passes u · total (binary search), else the last one; one thread per draw.
template <int B>
__device__ void buffer_draws(const CandidateBuffer& cand, SharedStorage& s, double total, int fallback,
                             unsigned samples, int* out, unsigned seedLo, unsigned seedHi, unsigned stepLo,
                             unsigned stepHi, unsigned stream) {
  const KeptEntries entries(s);
  const int* index = entries.index;
  const double* running = entries.running;
  const unsigned m = cand.kept;
  for (unsigned draw = threadIdx.x; draw < samples; draw += B) {
    const double target = rf_uniform53(seedLo, seedHi, stepLo, stepHi, stream, draw) * total;
    unsigned lo = 0, hi = m;
    while (lo < hi) {
      const unsigned mid = (lo + hi) / 2;
      if (running[mid] > target) hi = mid; else lo = mid + 1;
    }
    out[draw] = m == 0 ? fallback : index[lo < m ? lo : m - 1];
  }
}

template <int B>
__device__ __forceinline__ void sample_rows(
    const float* input, unsigned vocab, unsigned kind, const float* temperature, const int* topK, const float* topP,
    const float* minP, const unsigned* seedLo, const unsigned* seedHi, const unsigned* stepLo, const unsigned* stepHi,
    const unsigned* streamId, unsigned filterOrder, unsigned samples, int* tokens, unsigned char* valid,
    float* rowStats, unsigned parts, void* scratch) {
  static_assert(B >= MAX_PARTS, "one thread per part reads the split row's records");
  constexpr int kWarps = B / RF_WARP_SIZE;
  __shared__ SampleShared sh;
  __shared__ float partMax[MAX_PARTS];
  __shared__ CandidateBuffer cand;
  RowPart<B> rp;
  rp.init(blockIdx.x, vocab, parts, scratch);
  const unsigned row = rp.row;
  const float* x = input + static_cast<size_t>(row) * vocab;
  int* out = tokens + static_cast<size_t>(row) * samples;
  const int warp = threadIdx.x / RF_WARP_SIZE;
  const unsigned lane = threadIdx.x % RF_WARP_SIZE;
  unsigned segA, segB;
  rp.segment(warp, &segA, &segB);
  if (threadIdx.x == 0) sh.timedOut = 0;

  const float t = temperature[row];
  const float inverseTemperature = t == 0.0f ? 0.0f : 1.0f / t;
  const int k = topK[row];
  const float p = topP[row];
  const float mp = minP[row];
  const bool topKOn = k > 0 && static_cast<unsigned>(k) < vocab;
  // Plain sampling needs only the maximum and the total: one pass.
  const bool online = t != 0.0f && !topKOn && !(p < 1.0f) && !(mp > 0.0f) && (kind == 0 || t == 1.0f);

  // 1. Maximum, lowest argmax, invalid values, and the online sum.
  FirstPass first = {kind, online, inverseTemperature, -RF_INF, -1, 0, 0.0f};
  warp_for_each(x, segA, segB, first);
  {
    ValueIndex best = {first.max, first.arg};
    ArgMaxOp argmax;
#pragma unroll
    for (int offset = RF_WARP_SIZE / 2; offset > 0; offset /= 2) {
      ValueIndex other = {rf_shfl_down(best.value, offset), rf_shfl_down(best.index, offset)};
      best = argmax(best, other);
    }
    best.value = rf_shfl(best.value, 0);
    best.index = rf_shfl(best.index, 0);
    const int bad = warp_reduce(first.bad, MaxOp());
    double sum = 0.0;
    if (online) sum = warp_reduce(rescaled(static_cast<double>(first.sum), first.max, best.value, inverseTemperature, kind == 0), SumOp());
    if (lane == 0) {
      sh.warpMax[warp] = best.value;
      sh.warpArg[warp] = best.index;
      sh.warpBad[warp] = bad;
      sh.warpSum[warp] = sum;
    }
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    ValueIndex best = {-RF_INF, -1};
    int bad = 0;
    double sum = 0.0;
    for (int w = 0; w < kWarps; w++) {
      ValueIndex v = {sh.warpMax[w], sh.warpArg[w]};
      best = ArgMaxOp()(best, v);
      bad |= sh.warpBad[w];
    }
    for (int w = 0; w < kWarps; w++) sum += rescaled(sh.warpSum[w], sh.warpMax[w], best.value, inverseTemperature, kind == 0);
    sh.rowMax = best.value;
    sh.rowArg = best.index;
    sh.rowBad = bad;
    sh.partSum[0] = sum;
  }
  __syncthreads();
  if (rp.parts > 1) {
    if (threadIdx.x == 0) {
      rp.scratch->maxes[rp.part] = sh.rowMax;
      rp.scratch->argmax[rp.part] = sh.rowArg;
      rp.scratch->bad[rp.part] = sh.rowBad;
      rp.scratch->sums[rp.part] = sh.partSum[0];
    }
    // Clear the histograms the radix selects of this launch will add to.
    unsigned long long* histograms = &rp.scratch->histogram[0][0];
    for (unsigned j = rp.part * B + threadIdx.x; j < HISTOGRAM_ROUNDS * HISTOGRAM_BINS; j += rp.parts * B) histograms[j] = 0;
    rp.sync(&sh.timedOut);
    ValueIndex best = {-RF_INF, -1};
    int bad = 0;
    if (threadIdx.x < rp.parts) {
      const RowScratch* sc = rp.scratch;
      best.value = *reinterpret_cast<const volatile float*>(&sc->maxes[threadIdx.x]);
      best.index = *reinterpret_cast<const volatile int*>(&sc->argmax[threadIdx.x]);
      bad = *reinterpret_cast<const volatile int*>(&sc->bad[threadIdx.x]);
      partMax[threadIdx.x] = best.value;
    }
    bad = block_reduce<B>(bad, MaxOp(), sh.s.ints);
    best = reduce_argmax<B>(best, sh.s);
    if (threadIdx.x == 0) {
      sh.rowMax = best.value;
      sh.rowArg = best.index;
      sh.rowBad = bad;
    }
    __syncthreads();
  } else if (threadIdx.x == 0) {
    partMax[0] = sh.rowMax;
  }
  __syncthreads();
  const float max = sh.rowMax;
  const bool nothing = kind == 0 ? max == -RF_INF : max == 0.0f;
  unsigned char status = 1;
  if (sh.rowBad || sh.rowArg < 0 || nothing) {
    status = sh.rowBad ? 2 : 0;
    if (rp.part == 0)
      for (unsigned j = threadIdx.x; j < samples; j += B) out[j] = -1;
  } else {
    Weigher weigh;
    weigh.max = max;
    weigh.inverseTemperature = inverseTemperature;
    weigh.mode = t == 0.0f ? kGreedy
                 : (kind == 0 && max == RF_INF) ? kInfinite
                 : kind == 0 ? kLogits
                 : t == 1.0f ? kPlainProbs : kProbs;
    if (weigh.mode == kGreedy) {
      // 2. Temperature 0: greedy.
      if (rp.part == 0) {
        for (unsigned j = threadIdx.x; j < samples; j += B) out[j] = sh.rowArg;
        if (rowStats != nullptr && threadIdx.x == 0) {
          float* st = rowStats + static_cast<size_t>(row) * 6;
          st[0] = kGreedy; st[1] = max; st[2] = 0.0f; st[3] = 1.0f; st[4] = max; st[5] = 0.0f;
        }
      }
    } else {
      const bool finite = weigh.mode != kInfinite;
      float threshold = -RF_INF;
      float minWeight = 0.0f;
      bool keptInBuffer = false;
      if (online && finite) {
        // Plain: the sums of the first pass are the kept weights.
        combine_sums(sh, rp, true, kind == 0, max, inverseTemperature, partMax);
      } else {
        // 3. Thresholds, each on the value x: top-k (counts), then top-p (fixed-point masses).
        // A row in one block gathers a select's candidates into `cand`; when they fit,
        // the rest works from there instead of the row.
        CandidateBuffer* gatherTo = rp.parts == 1 ? &cand : nullptr;
        bool buffered = false;  // cand holds every element at or above the threshold of the select that filled it
        float kThreshold = -RF_INF;
        bool spread = false;   // top-p by spread bins: the kept sums come with it
        float aboveSum = 0.0f;
        if (finite && topKOn) {
          // Top-k ≤ B: every element at or above the k-th largest of the threads' maxima, in one
          // pass, usually a few times k of them; the select then reads only those.
          bool bounded = false;
          if (gatherTo != nullptr && k <= B) {
            const float bound = kth_largest_of_threads<B>(first.arg >= 0 ? first.max : -RF_INF, k,
                                                          reinterpret_cast<float*>(sh.s.histogram));
            if (threadIdx.x == 0) cand.count = 0;
            __syncthreads();
            GatherAtLeast atLeast = {bound, &cand};
            warp_for_each(x, segA, segB, atLeast);
            __syncthreads();
            bounded = cand.count <= CANDIDATE_CAPACITY;
          }
          kThreshold = radix_select(x, rp, &sh.timedOut, EveryCandidate(), UnitWeight(),
                                    static_cast<unsigned long long>(k), -1.0, 0, sh.s, gatherTo, bounded);
          threshold = kThreshold;
          buffered = gatherTo != nullptr && cand.count <= CANDIDATE_CAPACITY;
        }
        if (finite && p < 1.0f) {
          const bool overAll = k > 0 && filterOrder == 1;
          const float base = overAll ? -RF_INF : kThreshold;
          const FixedWeight fixedWeight = fixed_weight(weigh, vocab);
          // Top-p over the top-k set reads only the buffer (±0 aside: -0 ≥ +0 but keys below it).
          const bool fromBuffer = buffered && !overAll && kThreshold != 0.0f;
          CandidateBuffer* pBuffer = fromBuffer ? &cand : (buffered ? nullptr : gatherTo);
          // Top-p alone from logits on a row in one block: bins by distance below the maximum
          // (cand then holds one bin, not a complete top set, so `buffered` stays false).
          float pThreshold = -RF_INF;
          spread = gatherTo != nullptr && !topKOn && weigh.mode == kLogits &&
                   spread_top_p<B>(x, segA, segB, fixedWeight, static_cast<double>(p), KeptWeight{weigh, -RF_INF, mp},
                                   sh.s, cand, &pThreshold, &aboveSum);
          if (!spread) {
            pThreshold = radix_select(x, rp, &sh.timedOut, AtLeast{base}, fixedWeight, 1ull,
                                      static_cast<double>(p), 3, sh.s, pBuffer, fromBuffer);
            if (!buffered && pBuffer != nullptr) buffered = cand.count <= CANDIDATE_CAPACITY;
          }
          if (pThreshold > threshold) threshold = pThreshold;
        }
        const float maxWeight = weigh.mode == kPlainProbs ? max : 1.0f;
        minWeight = finite ? mp * maxWeight : 0.0f;
        // The kept set (x ≥ threshold) lies inside a complete buffer, whose lower bound is at or
        // below the threshold of the select that filled it.
        keptInBuffer = buffered && threshold != 0.0f;
        if (keptInBuffer) {
          // 4. Kept weight from the buffer.
          const double total = buffer_kept_total<B>(cand, KeptWeight{weigh, threshold, minWeight}, sh.s);
          if (threadIdx.x == 0) sh.total = total;
          __syncthreads();
        } else if (spread) {
          // 4. Kept weight of each warp's segment, gathered with the crossing bin.
          unsigned a0, b0;
          rp.segment(0, &a0, &b0);  // one block: warp w owns [w · (b0 − a0), …)
          spread_kept_sums<B>(aboveSum, cand, KeptWeight{weigh, threshold, minWeight},
                              fixed_weight(weigh, vocab), b0 - a0, sh.warpSum);
          combine_sums(sh, rp, false, false, max, inverseTemperature, partMax);
        } else {
          // 4. Kept weight of each warp's segment.
          KeptSum sum = {{weigh, threshold, minWeight}, 0.0f};
          warp_for_each(x, segA, segB, sum);
          const double warpSum = warp_reduce(static_cast<double>(sum.sum), SumOp());
          if (lane == 0) sh.warpSum[warp] = warpSum;
          __syncthreads();
          combine_sums(sh, rp, false, false, max, inverseTemperature, partMax);
        }
      }
      if (rowStats != nullptr && rp.part == 0 && threadIdx.x == 0) {
        float* st = rowStats + static_cast<size_t>(row) * 6;
        st[0] = static_cast<float>(weigh.mode); st[1] = max; st[2] = weigh.inverseTemperature;
        st[3] = static_cast<float>(sh.total); st[4] = threshold; st[5] = minWeight;
      }
      // 5. Draws: u · total located in index order, re-reading one segment per draw.
      if (keptInBuffer) {
        buffer_draws<B>(cand, sh.s, sh.total, sh.rowArg, samples, out, seedLo[row], seedHi[row], stepLo[row],
                        stepHi[row], streamId[row]);
      } else {
        const KeptWeight kept = {weigh, threshold, minWeight};
        draw_tokens(sh, rp, x, kept, samples, out, seedLo[row], seedHi[row], stepLo[row], stepHi[row],
                    streamId[row]);
      }
    }
  }
  rp.finish(sh.timedOut);
  if (rp.part == 0 && threadIdx.x == 0) {
    const bool poisoned = rp.parts > 1 && *reinterpret_cast<volatile unsigned*>(&rp.scratch->poisoned) != 0;
    valid[row] = (sh.timedOut || poisoned) ? 3 : status;
  }
}

// One row per block of BLOCK threads, or a row split over several such blocks (small batches).
RF_KERNEL void __launch_bounds__(BLOCK) rf_sample(
    const float* input, unsigned vocab, unsigned kind, const float* temperature, const int* topK, const float* topP,
    const float* minP, const unsigned* seedLo, const unsigned* seedHi, const unsigned* stepLo, const unsigned* stepHi,
    const unsigned* streamId, unsigned filterOrder, unsigned samples, int* tokens, unsigned char* valid,
    float* rowStats, unsigned parts, void* scratch) {
  sample_rows<BLOCK>(input, vocab, kind, temperature, topK, topP, minP, seedLo, seedHi, stepLo, stepHi, streamId,
                     filterOrder, samples, tokens, valid, rowStats, parts, scratch);
}

// The same with blocks of RF_NARROW_BLOCK threads, for batches of several rows per
// multiprocessor: a row's serial phases (reductions, radix rounds) then overlap other rows'
// loads on the same multiprocessor instead of leaving it idle (docs/PERFORMANCE.md, v3).
RF_KERNEL void RF_LAUNCH_BOUNDS_MIN_BLOCKS(RF_NARROW_BLOCK, RF_NARROW_MIN_BLOCKS) rf_sample_narrow(
    const float* input, unsigned vocab, unsigned kind, const float* temperature, const int* topK, const float* topP,
    const float* minP, const unsigned* seedLo, const unsigned* seedHi, const unsigned* stepLo, const unsigned* stepHi,
    const unsigned* streamId, unsigned filterOrder, unsigned samples, int* tokens, unsigned char* valid,
    float* rowStats, unsigned parts, void* scratch) {
  sample_rows<RF_NARROW_BLOCK>(input, vocab, kind, temperature, topK, topP, minP, seedLo, seedHi, stepLo, stepHi,
                               streamId, filterOrder, samples, tokens, valid, rowStats, parts, scratch);
}

// ---------------------------------------------------------------------------------------
// rf_softmax: probs = softmax(logits / T) per row (max-subtracted; T = 0 gives the one-hot
// argmax). Sums in double.
RF_KERNEL void __launch_bounds__(BLOCK) rf_softmax(const float* logits, float* probs, unsigned vocab,
                                                   const float* temperature) {
  __shared__ SharedStorage s;
  const size_t offset = static_cast<size_t>(blockIdx.x) * vocab;
  const float* x = logits + offset;
  float* y = probs + offset;
  ValueIndex best = {-RF_INF, -1};
  for (unsigned i = threadIdx.x; i < vocab; i += BLOCK) {
    const float v = x[i];
    if (best.index < 0 || v > best.value) {
      best.value = v;
      best.index = static_cast<int>(i);
    }
  }
  best = reduce_argmax(best, s);
  const float t = temperature[blockIdx.x];
  if (t == 0.0f || best.value == RF_INF) {
    // One-hot argmax, or uniform over the +Infinity logits (their softmax limit).
    double count = 0.0;
    for (unsigned i = threadIdx.x; i < vocab; i += BLOCK) count += (t == 0.0f ? (static_cast<int>(i) == best.index) : (x[i] == RF_INF)) ? 1.0 : 0.0;
    count = reduce_sum(count, s);
    for (unsigned i = threadIdx.x; i < vocab; i += BLOCK) {
      const bool on = t == 0.0f ? static_cast<int>(i) == best.index : x[i] == RF_INF;
      y[i] = on ? static_cast<float>(1.0 / count) : 0.0f;
    }
    return;
  }
  // Double precision for the exponent: a float32 (x - max)/T carries an absolute error of
  // ~1e-6 at |x - max| ≈ 20, which exp turns into a 1e-6 relative error.
  const double inverse = 1.0 / static_cast<double>(t);
  const double max = static_cast<double>(best.value);
  double sum = 0.0;
  for (unsigned i = threadIdx.x; i < vocab; i += BLOCK) sum += exp((static_cast<double>(x[i]) - max) * inverse);
  sum = reduce_sum(sum, s);
  const double scale = 1.0 / sum;
  for (unsigned i = threadIdx.x; i < vocab; i += BLOCK) {
    y[i] = static_cast<float>(exp((static_cast<double>(x[i]) - max) * inverse) * scale);
  }
}

// rf_prefix_sum: inclusive scan of each row (double running total, float output).
RF_KERNEL void __launch_bounds__(BLOCK) rf_prefix_sum(const float* input, float* output, unsigned vocab) {
  __shared__ SharedStorage s;
  const size_t offset = static_cast<size_t>(blockIdx.x) * vocab;
  double running = 0.0;
  for (unsigned base = 0; base < vocab; base += BLOCK) {
    const unsigned i = base + threadIdx.x;
    const double v = i < vocab ? static_cast<double>(input[offset + i]) : 0.0;
    double chunk;
    const double before = block_exclusive_sum<BLOCK>(v, &chunk, s.doubles);
    if (i < vocab) output[offset + i] = static_cast<float>(running + before + v);
    running += chunk;
  }
}

// rf_philox: the four Philox words for draws draw0 … draw0+count-1 of each row's
// (seed, step, stream); one thread per draw. For checking the generator bit for bit.
RF_KERNEL void rf_philox(unsigned* out, const unsigned* seedLo, const unsigned* seedHi, const unsigned* stepLo,
                         const unsigned* stepHi, const unsigned* streamId, unsigned draw0, unsigned count) {
  const unsigned row = blockIdx.y;
  for (unsigned d = blockIdx.x * blockDim.x + threadIdx.x; d < count; d += gridDim.x * blockDim.x) {
    const Philox4 r = rf_philox4x32_10(draw0 + d, streamId[row], stepLo[row], stepHi[row], seedLo[row], seedHi[row]);
    unsigned* o = out + (static_cast<size_t>(row) * count + d) * 4;
    o[0] = r.x[0]; o[1] = r.x[1]; o[2] = r.x[2]; o[3] = r.x[3];
  }
}

// rf_uniform: the 53-bit uniforms the sampler draws, as doubles.
RF_KERNEL void rf_uniform(double* out, const unsigned* seedLo, const unsigned* seedHi, const unsigned* stepLo,
                          const unsigned* stepHi, const unsigned* streamId, unsigned count) {
  const unsigned row = blockIdx.y;
  for (unsigned d = blockIdx.x * blockDim.x + threadIdx.x; d < count; d += gridDim.x * blockDim.x) {
    out[static_cast<size_t>(row) * count + d] =
        rf_uniform53(seedLo[row], seedHi[row], stepLo[row], stepHi[row], streamId[row], d);
  }
}

// rf_adjust_logits: logit bias, then the repetition penalty, then frequency and presence
// penalties (vLLM's definitions), in place, from per-row entries (token, bias, seen in the
// prompt, count in the output) listed at entries[offsets[row] … offsets[row + 1]).
RF_KERNEL void rf_adjust_logits(float* logits, unsigned vocab, const unsigned* offsets, const int* entryToken,
                                const float* entryBias, const unsigned* entryPromptSeen,
                                const unsigned* entryOutputCount, const float* repetition, const float* frequency,
                                const float* presence) {
  const unsigned row = blockIdx.x;
  float* x = logits + static_cast<size_t>(row) * vocab;
  const float r = repetition[row], f = frequency[row], pr = presence[row];
  for (unsigned e = offsets[row] + threadIdx.x; e < offsets[row + 1]; e += blockDim.x) {
    const int t = entryToken[e];
    if (t < 0 || static_cast<unsigned>(t) >= vocab) continue;
    float v = x[t] + entryBias[e];
    const unsigned count = entryOutputCount[e];
    if (r != 1.0f && (entryPromptSeen[e] != 0 || count != 0)) v = v > 0.0f ? v / r : v * r;
    if (count != 0) v = v - f * static_cast<float>(count) - pr;
    x[t] = v;
  }
}

// Log-normaliser of a raw row: log Σ exp(x - max) + max for logits, log Σ p for probabilities.
__device__ float raw_log_normaliser(const float* x, unsigned vocab, unsigned kind, SharedStorage& s) {
  if (kind != 0) {
    double sum = 0.0;
    for (unsigned i = threadIdx.x; i < vocab; i += BLOCK) sum += x[i];
    return static_cast<float>(log(reduce_sum(sum, s)));
  }
  float m = -RF_INF;
  for (unsigned i = threadIdx.x; i < vocab; i += BLOCK) m = fmaxf(m, x[i]);
  m = block_reduce<BLOCK>(m, MaxOp(), s.floats);
  double sum = 0.0;
  for (unsigned i = threadIdx.x; i < vocab; i += BLOCK) sum += expf(x[i] - m);
  return m + static_cast<float>(log(reduce_sum(sum, s)));
}

// Processed log-probability of value v under the row's sampled distribution (rowStats of rf_sample).
__device__ float processed_logprob(float v, bool isArgmax, const float* st) {
  const int mode = static_cast<int>(st[0]);
  if (mode == kGreedy) return isArgmax ? 0.0f : -RF_INF;
  Weigher weigh;
  weigh.mode = mode;
  weigh.max = st[1];
  weigh.inverseTemperature = st[2];
  if (v < st[4]) return -RF_INF;
  const float w = weigh(v);
  if (w < st[5] || w <= 0.0f) return -RF_INF;
  const float logW = mode == kLogits ? (v - st[1]) * st[2] : logf(w);
  return logW - logf(st[3]);
}

// Whether a value is a candidate for the top-n: any value for raw log-probabilities, a kept
// one (under the row's statistics) for processed ones.
struct KeptUnder {
  unsigned mode;
  const float* st;
  __device__ bool operator()(float v) const { return mode == 0 || processed_logprob(v, false, st) > -RF_INF; }
};

// rf_token_logprobs: log-probability of each sampled token, raw (mode 0) or processed (mode 1).
// `values` are the raw inputs for mode 0 and the adjusted logits for mode 1.
RF_KERNEL void __launch_bounds__(BLOCK) rf_token_logprobs(const float* values, unsigned vocab, unsigned kind,
                                                          const int* tokens, unsigned samples, const float* rowStats,
                                                          unsigned mode, float* out) {
  __shared__ SharedStorage s;
  const unsigned row = blockIdx.x;
  const float* x = values + static_cast<size_t>(row) * vocab;
  const int* tok = tokens + static_cast<size_t>(row) * samples;
  float* o = out + static_cast<size_t>(row) * samples;
  const float normaliser = mode == 0 ? raw_log_normaliser(x, vocab, kind, s) : 0.0f;
  for (unsigned j = threadIdx.x; j < samples; j += BLOCK) {
    const int t = tok[j];
    if (t < 0) {
      o[j] = __int_as_float(0x7fc00000);  // NaN for invalid rows
      continue;
    }
    if (mode == 0) {
      o[j] = (kind == 0 ? x[t] : logf(x[t])) - normaliser;
    } else {
      const float* st = rowStats + static_cast<size_t>(row) * 6;
      // For greedy rows every draw is the argmax, so the sampled token is it.
      o[j] = processed_logprob(x[t], true, st);
    }
  }
}

// rf_top_logprobs: the n most probable tokens per row (most probable first, lowest index on
// ties) with raw (mode 0) or processed (mode 1) log-probabilities; n ≤ 1024. Processed mode
// considers only the kept set; slots past it are -1 / -Infinity.
constexpr int TOP_CAPACITY = 1024;
RF_KERNEL void __launch_bounds__(BLOCK) rf_top_logprobs(const float* values, unsigned vocab, unsigned kind,
                                                        unsigned n, const float* rowStats, const int* sampledTokens,
                                                        unsigned samples, unsigned mode, int* outTokens,
                                                        float* outLogprobs,
                                                        const unsigned char* valid) {
  __shared__ SharedStorage s;
  __shared__ float topValue[TOP_CAPACITY];
  __shared__ int topIndex[TOP_CAPACITY];
  __shared__ unsigned count;
  const unsigned row = blockIdx.x;
  const float* x = values + static_cast<size_t>(row) * vocab;
  int* ot = outTokens + static_cast<size_t>(row) * n;
  float* ol = outLogprobs + static_cast<size_t>(row) * n;
  if (valid[row] == 0) {
    for (unsigned j = threadIdx.x; j < n; j += BLOCK) {
      ot[j] = -1;
      ol[j] = __int_as_float(0x7fc00000);
    }
    return;
  }
  const float* st = rowStats + static_cast<size_t>(row) * 6;
  // Greedy rows drew the argmax every time: their first sampled token is it.
  const int greedyToken = sampledTokens[static_cast<size_t>(row) * samples];
  const bool greedy = mode == 1 && static_cast<int>(st[0]) == kGreedy;
  const KeptUnder kept = {mode, st};
  const float normaliser = mode == 0 ? raw_log_normaliser(x, vocab, kind, s) : 0.0f;
  // Count the candidates; take min(n, count) of them.
  unsigned local = 0;
  if (!greedy)
    for (unsigned i = threadIdx.x; i < vocab; i += BLOCK) local += kept(x[i]) ? 1u : 0u;
  const unsigned long long candidates = greedy ? 1ull : reduce_sum(static_cast<unsigned long long>(local), s);
  const unsigned take = static_cast<unsigned>(candidates < n ? candidates : n);
  if (threadIdx.x == 0) count = 0;
  __syncthreads();
  if (greedy) {
    if (threadIdx.x == 0) {
      topValue[0] = x[greedyToken];
      topIndex[0] = greedyToken;
      count = 1;
    }
  } else if (take > 0) {
    RowPart<BLOCK> whole;
    whole.init(blockIdx.x, vocab, 1, nullptr);
    int timedOut = 0;
    const float threshold =
        radix_select(x, whole, &timedOut, kept, UnitWeight(), static_cast<unsigned long long>(take), -1.0, 0, s);
    // Everything strictly above the threshold (< take of them), then the lowest-index ties.
    for (unsigned i = threadIdx.x; i < vocab; i += BLOCK) {
      const float v = x[i];
      if (v > threshold && kept(v)) {
        const unsigned slot = atomicAdd(&count, 1u);
        topValue[slot] = v;
        topIndex[slot] = static_cast<int>(i);
      }
    }
    __syncthreads();
    unsigned running = count;
    for (unsigned base = 0; base < vocab && running < take; base += BLOCK) {
      const unsigned i = base + threadIdx.x;
      const unsigned tie = (i < vocab && x[i] == threshold && kept(x[i])) ? 1u : 0u;
      unsigned long long chunk;
      const unsigned long long before = block_exclusive_sum<BLOCK>(static_cast<unsigned long long>(tie), &chunk, s.u64s);
      if (tie && running + before < take) {
        topValue[running + before] = threshold;
        topIndex[running + before] = static_cast<int>(i);
      }
      running += static_cast<unsigned>(chunk);
    }
    __syncthreads();
    if (threadIdx.x == 0) count = take;
  }
  __syncthreads();
  // Rank by (value desc, index asc) and write in order.
  const unsigned m = count;
  for (unsigned a = threadIdx.x; a < m; a += BLOCK) {
    unsigned rank = 0;
    for (unsigned b = 0; b < m; b++) {
      if (topValue[b] > topValue[a] || (topValue[b] == topValue[a] && topIndex[b] < topIndex[a])) rank++;
    }
    const float v = topValue[a];
    ot[rank] = topIndex[a];
    ol[rank] = mode == 0 ? (kind == 0 ? v : logf(v)) - normaliser : processed_logprob(v, true, st);
  }
  for (unsigned j = m + threadIdx.x; j < n; j += BLOCK) {
    ot[j] = -1;
    ol[j] = -RF_INF;
  }
}
