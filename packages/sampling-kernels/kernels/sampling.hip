// rocmforge's sampling kernels. One block per row; the block loops over the row, so the
// vocabulary size is bounded by nothing but memory (no shared-memory ceiling). Each kernel
// follows docs/GPU_SAMPLER.md "Semantics" and reproduces packages/sampler/src/cpu/*.
#include "abi.h"
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
// Narrow blocks resident per multiprocessor that the compiler must leave registers for: rows
// split over narrow blocks (rf_sample_split_narrow), and whole rows of large batches.
#ifndef RF_SPLIT_NARROW_MIN_BLOCKS
#define RF_SPLIT_NARROW_MIN_BLOCKS 4
#endif
#ifndef RF_NARROW_MIN_BLOCKS
#define RF_NARROW_MIN_BLOCKS 6
#endif
// +Infinity from its bits (NVRTC has no __builtin_huge_valf).
#define RF_INF (__int_as_float(0x7f800000))

#include "weights.h"
#include "select.h"
#include "spread.h"
#include "draw.h"

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
// valid (per row): an RfRowStatus (abi.h); blocks that could not meet leave the scratch to be
// zeroed again. rowStats (RF_ROW_STATS floats per row, may be null, indexed by RfRowStat):
// what the log-probability kernels need to describe the sampled distribution.

// ---------------------------------------------------------------------------------------
// rf_sample's stages. A block of B threads works on its chunk of row rp.row (the whole row
// when rp.parts == 1): first pass, thresholds, kept total, draws.

// The row's parameters, read once from the launch's per-row arrays.
struct RowRequest {
  float temperature;
  float inverseTemperature;  // 0 for greedy rows
  int topK;
  float topP;
  float minP;
  bool topKOn;  // top-k keeps fewer than the whole row
  bool online;  // plain sampling: the first pass's sums are the kept weights (one pass)
  __device__ __forceinline__ RowRequest(const RfSampleParams& p, unsigned row) {
    temperature = p.oneRow ? p.oneTemperature : p.temperature[row];
    inverseTemperature = temperature == 0.0f ? 0.0f : 1.0f / temperature;
    topK = p.oneRow ? p.oneTopK : p.topK[row];
    topP = p.oneRow ? p.oneTopP : p.topP[row];
    minP = p.oneRow ? p.oneMinP : p.minP[row];
    topKOn = topK > 0 && static_cast<unsigned>(topK) < p.vocab;
    online = temperature != 0.0f && !topKOn && !(topP < 1.0f) && !(minP > 0.0f) &&
             (p.kind == RF_INPUT_KIND_LOGITS || temperature == 1.0f);
  }
};

// The row's Philox key, read at the draws.
struct DrawKey {
  unsigned seedLo, seedHi, stepLo, stepHi, stream;
  __device__ __forceinline__ DrawKey(const RfSampleParams& p, unsigned row)
      : seedLo(p.oneRow ? p.oneSeedLo : p.seedLo[row]),
        seedHi(p.oneRow ? p.oneSeedHi : p.seedHi[row]),
        stepLo(p.oneRow ? p.oneStepLo : p.stepLo[row]),
        stepHi(p.oneRow ? p.oneStepHi : p.stepHi[row]),
        stream(p.oneRow ? p.oneStream : p.stream[row]) {}
};

// Top-k on a split row from a candidate buffer (split_top_k): each block publishes, at the
// first row barrier, the c-th largest of its warps' maxima for c = ⌈k / parts⌉ (c distinct
// elements of its chunk are at least it), so that the lowest of them is at most the row's k-th
// largest value. Returns c, or 0 when the row takes the radix rounds (c above the warps).
template <int B, bool SPLIT>
__device__ __forceinline__ unsigned split_bound_rank(const RfSampleParams& p, const RowRequest& req, unsigned parts) {
  if (!SPLIT || parts < 2 || !req.topKOn || req.topK > B || req.temperature == 0.0f) return 0u;
  // Top-p over the whole row (joint order) needs the row, not the top-k set.
  if (req.topP < 1.0f && p.filterOrder == RF_FILTER_ORDER_JOINT) return 0u;
  const unsigned c = (static_cast<unsigned>(req.topK) + parts - 1) / parts;
  return c <= static_cast<unsigned>(B / RF_WARP_SIZE) ? c : 0u;
}

// 1. The first pass: the row's maximum, lowest argmax and invalid values (sh.rowMax, rowArg,
// rowBad; partMax[] per chunk of a split row), and for online rows the sums of weights
// (sh.warpSum, each chunk's in the row scratch). Returns this thread's own maximum, -Infinity
// when it saw no valid element: its k-th largest over the block bounds the top-k threshold.
// With `boundRank` c, a split row's blocks also publish the c-th largest of their warps' maxima.
template <int B, typename T>
__device__ __forceinline__ float first_pass(const T* x, unsigned segA, unsigned segB, unsigned kind,
                                            const RowRequest& req, unsigned boundRank, RowPart<B, Vector<T>::N>& rp,
                                            SampleShared& sh, float* partMax) {
  constexpr int kWarps = B / RF_WARP_SIZE;
  const int warp = threadIdx.x / RF_WARP_SIZE;
  const unsigned lane = threadIdx.x % RF_WARP_SIZE;
  const float inverseTemperature = req.inverseTemperature;
  const bool online = req.online;
  FirstPass first = {kind, online, inverseTemperature, -RF_INF, -1, 0, 0.0f};
  warp_for_each<LoadsInFlight<B>::value>(x, segA, segB, first);
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
    if (online) sum = warp_reduce(rescaled(static_cast<double>(first.sum), first.max, best.value, inverseTemperature, kind == RF_INPUT_KIND_LOGITS), SumOp());
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
    for (int w = 0; w < kWarps; w++) sum += rescaled(sh.warpSum[w], sh.warpMax[w], best.value, inverseTemperature, kind == RF_INPUT_KIND_LOGITS);
    sh.rowMax = best.value;
    sh.rowArg = best.index;
    sh.rowBad = bad;
    sh.partSum[0] = sum;
  }
  __syncthreads();
  const float mine = first.arg >= 0 ? first.max : -RF_INF;
  if (rp.parts > 1) {
    if (boundRank > 0 && warp == 0) {
      // Lane w ranks warp w's maximum among the block's (larger first, then lower warp).
      const float v = lane < static_cast<unsigned>(kWarps) && sh.warpArg[lane] >= 0 ? sh.warpMax[lane] : -RF_INF;
      unsigned rank = 0;
      for (int j = 0; j < kWarps; j++) {
        const float o = rf_shfl(v, j);
        rank += (o > v || (o == v && static_cast<unsigned>(j) < lane)) ? 1u : 0u;
      }
      if (lane < static_cast<unsigned>(kWarps) && rank == boundRank - 1) rp.scratch->bound[rp.part] = v;
    }
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
  return mine;
}

// The weights of a row with something to sample, given its maximum.
__device__ __forceinline__ Weigher row_weigher(unsigned kind, const RowRequest& req, float max) {
  Weigher weigh;
  weigh.max = max;
  weigh.inverseTemperature = req.inverseTemperature;
  weigh.mode = req.temperature == 0.0f                      ? kGreedy
               : (kind == RF_INPUT_KIND_LOGITS && max == RF_INF) ? kInfinite
               : kind == RF_INPUT_KIND_LOGITS                 ? kLogits
               : req.temperature == 1.0f                      ? kPlainProbs
                                                              : kProbs;
  return weigh;
}

// What the threshold stage leaves: the kept set is x ≥ threshold with weight ≥ minWeight.
struct Thresholds {
  float threshold;
  float minWeight;
  bool keptInBuffer;  // the candidate buffer holds the whole kept set
  bool spread;        // top-p by distance bins: the kept sums come from aboveSum and the buffer
  float aboveSum;     // this thread's kept weight above the crossing bin (spread only)
  bool elsewhere;     // a split row finished by its first block from the buffer: nothing left here
};

// Top-k on a split row from a buffer: the bound is the lowest of the blocks' published values
// (split_bound_rank: at least k distinct elements of the row are at or above it); each block
// gathers its chunk's elements at or above it into the row's buffer in device memory, and after
// the row barrier the first block takes the buffer into shared memory to finish the row alone,
// as a row in one block does from its buffer (the selects, the kept total, the draws). The
// candidates are typically a few times k: two passes and two barriers instead of the radix
// rounds' six barriers and passes. False when they overflow the buffer: every block then goes
// on with the radix rounds over the row.
template <int B, typename T>
__device__ bool split_top_k(const T* x, unsigned segA, unsigned segB, RowPart<B, Vector<T>::N>& rp, SampleShared& sh,
                            CandidateBuffer& cand) {
  const float mine = threadIdx.x < rp.parts ? *reinterpret_cast<const volatile float*>(&rp.scratch->bound[threadIdx.x])
                                            : RF_INF;
  const float bound = block_reduce<B>(mine, MinOp(), sh.s.floats);
  GatherAtLeastToRow toRow = {bound, rp.scratch};
  warp_for_each<LoadsInFlight<B>::value>(x, segA, segB, toRow);
  rp.sync(&sh.timedOut);
  const unsigned count = *reinterpret_cast<const volatile unsigned*>(&rp.scratch->candidates);
  if (count > CANDIDATE_CAPACITY) return false;
  if (rp.part == 0) {
    const volatile float* value = rp.scratch->candValue;
    const volatile int* index = rp.scratch->candIndex;
    for (unsigned e = threadIdx.x; e < count; e += B) {
      cand.value[e] = value[e];
      cand.index[e] = index[e];
    }
    if (threadIdx.x == 0) cand.count = count;
  }
  __syncthreads();
  return true;
}

// 2. Thresholds, each on the value x: top-k (counts), then top-p (fixed-point masses), then
// min-p's weight. A row in one block gathers a select's candidates into `cand`; when they fit,
// the rest works from there instead of the row.
template <int B, bool SPLIT, typename T>
__device__ __forceinline__ Thresholds select_thresholds(const T* x, unsigned segA, unsigned segB, const RfSampleParams& p,
                                                        const RowRequest& req, const Weigher& weigh, float threadMax,
                                                        unsigned boundRank, RowPart<B, Vector<T>::N>& rp,
                                                        SampleShared& sh, CandidateBuffer& cand) {
  const int k = req.topK;
  // A split row whose candidates fit the buffer is finished by its first block as a row in one
  // block (rp.parts = 1; sample_rows restores it) whose bounded buffer is complete. The buffer
  // holds every element at or above its bound by value, ±0 included, so it holds the kept set
  // whatever the threshold.
  const bool finite = weigh.mode != kInfinite;
  bool splitBuffered = false;
  if (finite && boundRank > 0 && split_top_k<B>(x, segA, segB, rp, sh, cand)) {
    RF_STAMP(3);
    if (rp.part != 0) return Thresholds{-RF_INF, 0.0f, false, false, 0.0f, true};
    splitBuffered = true;
    rp.parts = 1;
  }
  float threshold = -RF_INF;
  CandidateBuffer* gatherTo = rp.parts == 1 ? &cand : nullptr;
  bool buffered = false;  // cand holds every element at or above the threshold of the select that filled it
  float kThreshold = -RF_INF;
  bool spread = false;
  float aboveSum = 0.0f;
  if (finite && req.topKOn) {
    // Top-k ≤ B: every element at or above a bound on the k-th largest from the threads' maxima
    // (kth_largest_bound), in one pass, usually a few times k of them; the select then reads
    // only those.
    bool bounded = splitBuffered;
    if (!bounded && gatherTo != nullptr && k <= B) {
      const float bound = kth_largest_bound<B>(threadMax, k, reinterpret_cast<float*>(sh.s.histogram));
      if (threadIdx.x == 0) cand.count = 0;
      __syncthreads();
      GatherAtLeast atLeast = {bound, &cand};
      warp_for_each<LoadsInFlight<B>::value>(x, segA, segB, atLeast);
      __syncthreads();
      bounded = cand.count <= CANDIDATE_CAPACITY;
      RF_STAMP(4);
    }
    kThreshold = bounded && cand.count <= RANK_CANDIDATES
                     ? buffer_select<B>(cand, EveryCandidate(), UnitWeight(), static_cast<unsigned long long>(k), -1.0,
                                        sh.s)
                     : radix_select(x, rp, &sh.timedOut, EveryCandidate(), UnitWeight(),
                                    static_cast<unsigned long long>(k), -1.0, 0, sh.s, gatherTo, bounded);
    threshold = kThreshold;
    buffered = gatherTo != nullptr && cand.count <= CANDIDATE_CAPACITY;
    RF_STAMP(5);
  }
  if (finite && req.topP < 1.0f) {
    const bool overAll = k > 0 && p.filterOrder == RF_FILTER_ORDER_JOINT;
    const float base = overAll ? -RF_INF : kThreshold;
    const FixedWeight fixedWeight = fixed_weight(weigh, p.vocab);
    // Top-p over the top-k set reads only the buffer (±0 aside: -0 ≥ +0 but keys below it).
    const bool fromBuffer = buffered && !overAll && (kThreshold != 0.0f || splitBuffered);
    CandidateBuffer* pBuffer = fromBuffer ? &cand : (buffered ? nullptr : gatherTo);
    // Top-p alone from logits: bins by distance below the maximum, on a row in one block or
    // split (cand then holds one bin, not a complete top set, so `buffered` stays false).
    float pThreshold = -RF_INF;
    spread = !req.topKOn && weigh.mode == kLogits && !splitBuffered &&
             spread_top_p<B, SPLIT>(x, segA, segB, fixedWeight, static_cast<double>(req.topP),
                             KeptWeight{weigh, -RF_INF, req.minP}, sh.s, cand, rp, &sh.timedOut, &pThreshold,
                             &aboveSum);
    if (!spread && fromBuffer && cand.count <= RANK_CANDIDATES) {
      pThreshold = buffer_select<B>(cand, AtLeast{base}, fixedWeight, 1ull, static_cast<double>(req.topP), sh.s);
    } else if (!spread) {
      pThreshold = radix_select(x, rp, &sh.timedOut, AtLeast{base}, fixedWeight, 1ull, static_cast<double>(req.topP), 3,
                                sh.s, pBuffer, fromBuffer);
      if (!buffered && pBuffer != nullptr) buffered = cand.count <= CANDIDATE_CAPACITY;
    }
    if (pThreshold > threshold) threshold = pThreshold;
    RF_STAMP(6);
  }
  const float maxWeight = weigh.mode == kPlainProbs ? weigh.max : 1.0f;
  // The kept set (x ≥ threshold) lies inside a complete buffer, whose lower bound is at or
  // below the threshold of the select that filled it.
  return Thresholds{threshold, finite ? req.minP * maxWeight : 0.0f, buffered && (threshold != 0.0f || splitBuffered),
                    spread, aboveSum, false};
}

// 3. The kept total (sh.total), and for draws that walk the row, the running kept weight of
// each chunk and warp segment (combine_sums).
template <int B, typename T>
__device__ __forceinline__ void kept_total(const T* x, unsigned segA, unsigned segB, const RfSampleParams& p,
                                           const RowRequest& req, const Weigher& weigh, const Thresholds& th,
                                           RowPart<B, Vector<T>::N>& rp, SampleShared& sh, CandidateBuffer& cand,
                                           const float* partMax) {
  const KeptWeight kept = {weigh, th.threshold, th.minWeight};
  if (th.keptInBuffer) {
    // From the buffer.
    const double total = buffer_kept_total<B>(cand, kept, sh.s);
    if (threadIdx.x == 0) sh.total = total;
    __syncthreads();
  } else if (th.spread) {
    // Each warp's segment: the weight above the crossing bin plus the bin's kept elements.
    unsigned a0, b0;
    rp.segment(0, &a0, &b0);  // warp w owns [begin + w · (b0 − a0), …) of the chunk
    spread_kept_sums<B>(th.aboveSum, cand, kept, fixed_weight(weigh, p.vocab), rp.begin, rp.end, b0 - a0,
                        sh.warpSum);
    combine_sums(sh, rp, false, false, weigh.max, req.inverseTemperature, partMax);
  } else {
    // Each warp's segment, read again.
    KeptSum sum = {kept, 0.0f};
    warp_for_each<LoadsInFlight<B>::value>(x, segA, segB, sum);
    const double warpSum = warp_reduce(static_cast<double>(sum.sum), SumOp());
    if (threadIdx.x % RF_WARP_SIZE == 0) sh.warpSum[threadIdx.x / RF_WARP_SIZE] = warpSum;
    __syncthreads();
    combine_sums(sh, rp, false, false, weigh.max, req.inverseTemperature, partMax);
  }
}

// What the log-probability kernels need to describe the row's sampled distribution.
__device__ __forceinline__ void write_row_stats(float* rowStats, unsigned row, float mode, float max,
                                                float inverseTemperature, float keptTotal, float threshold,
                                                float minWeight) {
  float* st = rowStats + static_cast<size_t>(row) * RF_ROW_STATS;
  st[RF_ROW_STAT_WEIGHT_MODE] = mode;
  st[RF_ROW_STAT_MAX] = max;
  st[RF_ROW_STAT_INVERSE_TEMPERATURE] = inverseTemperature;
  st[RF_ROW_STAT_KEPT_TOTAL] = keptTotal;
  st[RF_ROW_STAT_THRESHOLD] = threshold;
  st[RF_ROW_STAT_MIN_WEIGHT] = minWeight;
}

// SPLIT: the kernel has the split-row paths of top-k (the candidate buffer) and top-p alone
// (the distance bins); without them a split row takes the radix rounds (the host never splits
// rows on such a kernel). Compiled out of the narrow kernel of large batches, whose registers
// they would crowd (H200, 10000 × 32000 top-k: 996 → 1079 µs with them).
template <int B, typename T, bool SPLIT>
__device__ __forceinline__ void sample_rows(const RfSampleParams& p) {
  static_assert(B >= MAX_PARTS, "one thread per part reads the split row's records");
  __shared__ SampleShared sh;
  __shared__ float partMax[MAX_PARTS];
  __shared__ CandidateBuffer cand;
  RowPart<B, Vector<T>::N> rp;
  RF_STAMP_START();
  rp.init(blockIdx.x, p.vocab, p.parts, p.scratch);
  const unsigned row = rp.row;
  const T* x = static_cast<const T*>(p.input) + static_cast<size_t>(row) * p.vocab;
  int* out = p.tokens + static_cast<size_t>(row) * p.samples;
  unsigned segA, segB;
  rp.segment(threadIdx.x / RF_WARP_SIZE, &segA, &segB);
  if (threadIdx.x == 0) sh.timedOut = 0;
  const RowRequest req(p, row);
  const unsigned parts = rp.parts;
  const unsigned boundRank = split_bound_rank<B, SPLIT>(p, req, parts);
  RF_STAMP(1);

  const float threadMax = first_pass<B>(x, segA, segB, p.kind, req, boundRank, rp, sh, partMax);
  RF_STAMP(2);
  const float max = sh.rowMax;
  const bool nothing = p.kind == RF_INPUT_KIND_LOGITS ? max == -RF_INF : max == 0.0f;
  unsigned char status = RF_ROW_STATUS_SAMPLED;
  if (sh.rowBad || sh.rowArg < 0 || nothing) {
    status = sh.rowBad ? RF_ROW_STATUS_INVALID_VALUES : RF_ROW_STATUS_NOTHING_TO_SAMPLE;
    if (rp.part == 0)
      for (unsigned j = threadIdx.x; j < p.samples; j += B) out[j] = -1;
  } else {
    const Weigher weigh = row_weigher(p.kind, req, max);
    if (weigh.mode == kGreedy) {
      // Temperature 0: the argmax.
      if (rp.part == 0) {
        for (unsigned j = threadIdx.x; j < p.samples; j += B) out[j] = sh.rowArg;
        if (p.rowStats != nullptr && threadIdx.x == 0) write_row_stats(p.rowStats, row, kGreedy, max, 0.0f, 1.0f, max, 0.0f);
      }
    } else {
      Thresholds th = {-RF_INF, 0.0f, false, false, 0.0f, false};
      if (req.online && weigh.mode != kInfinite) {
        // Plain: the sums of the first pass are the kept weights.
        combine_sums(sh, rp, true, p.kind == RF_INPUT_KIND_LOGITS, max, req.inverseTemperature, partMax);
      } else {
        th = select_thresholds<B, SPLIT>(x, segA, segB, p, req, weigh, threadMax, boundRank, rp, sh, cand);
        RF_STAMP(7);
        if (!th.elsewhere) kept_total<B>(x, segA, segB, p, req, weigh, th, rp, sh, cand, partMax);
      }
      RF_STAMP(8);
      if (!th.elsewhere) {  // (else the row's first block finishes it from the buffer)
        if (p.rowStats != nullptr && rp.part == 0 && threadIdx.x == 0)
          write_row_stats(p.rowStats, row, static_cast<float>(weigh.mode), max, weigh.inverseTemperature,
                          static_cast<float>(sh.total), th.threshold, th.minWeight);
        // 4. Draws: u · total located in index order — in the buffer, or re-reading one segment per draw.
        const DrawKey key(p, row);
        if (th.keptInBuffer) {
          buffer_draws<B>(cand, sh.s, sh.total, sh.rowArg, p.samples, out, key.seedLo, key.seedHi, key.stepLo,
                          key.stepHi, key.stream);
        } else {
          draw_tokens(sh, rp, x, KeptWeight{weigh, th.threshold, th.minWeight}, p.samples, out, key.seedLo,
                      key.seedHi, key.stepLo, key.stepHi, key.stream);
        }
        RF_STAMP(9);
      }
    }
  }
  rp.parts = parts;  // (select_thresholds may have made the first block of a split row its only one)
  rp.finish(sh.timedOut);
  if (rp.part == 0 && threadIdx.x == 0) {
    const bool poisoned = rp.parts > 1 && *reinterpret_cast<volatile unsigned*>(&rp.scratch->poisoned) != 0;
    p.valid[row] = (sh.timedOut || poisoned) ? RF_ROW_STATUS_BLOCKS_COULD_NOT_MEET : status;
  }
  RF_STAMP(10);
  RF_TIMELINE_PRINT();
}

// One row per block of BLOCK threads, or a row split over several such blocks (small batches);
// one entry point per element type (abi.h).
RF_KERNEL void __launch_bounds__(BLOCK) rf_sample(RF_PARAMS RfSampleParams p) { sample_rows<BLOCK, float, true>(p); }
RF_KERNEL void __launch_bounds__(BLOCK) rf_sample_f16(RF_PARAMS RfSampleParams p) {
  sample_rows<BLOCK, rf_half, true>(p);
}
RF_KERNEL void __launch_bounds__(BLOCK) rf_sample_bf16(RF_PARAMS RfSampleParams p) {
  sample_rows<BLOCK, rf_bfloat16, true>(p);
}

// The same with blocks of RF_NARROW_BLOCK threads, for batches of several rows per
// multiprocessor: a row's serial phases (reductions, radix rounds) then overlap other rows'
// loads on the same multiprocessor instead of leaving it idle (docs/PERFORMANCE.md, v3).
// Rows are not split on it.
#define RF_NARROW_BOUNDS RF_LAUNCH_BOUNDS_MIN_BLOCKS(RF_NARROW_BLOCK, RF_NARROW_MIN_BLOCKS)
RF_KERNEL void RF_NARROW_BOUNDS rf_sample_narrow(RF_PARAMS RfSampleParams p) {
  sample_rows<RF_NARROW_BLOCK, float, false>(p);
}
RF_KERNEL void RF_NARROW_BOUNDS rf_sample_narrow_f16(RF_PARAMS RfSampleParams p) {
  sample_rows<RF_NARROW_BLOCK, rf_half, false>(p);
}
RF_KERNEL void RF_NARROW_BOUNDS rf_sample_narrow_bf16(RF_PARAMS RfSampleParams p) {
  sample_rows<RF_NARROW_BLOCK, rf_bfloat16, false>(p);
}

// Rows split over narrow blocks, RF_SPLIT_NARROW_MIN_BLOCKS of them per multiprocessor (the
// host splits a row into at most that many blocks per multiprocessor, so that all of a row's
// blocks are resident at once): small batches of large rows, where a row's latency chain of
// block-wide stages is shorter with 8 warps a block than with 32 (docs/PERFORMANCE.md, v10).
#define RF_SPLIT_NARROW_BOUNDS RF_LAUNCH_BOUNDS_MIN_BLOCKS(RF_NARROW_BLOCK, RF_SPLIT_NARROW_MIN_BLOCKS)
RF_KERNEL void RF_SPLIT_NARROW_BOUNDS rf_sample_split_narrow(RF_PARAMS RfSampleParams p) {
  sample_rows<RF_NARROW_BLOCK, float, true>(p);
}
RF_KERNEL void RF_SPLIT_NARROW_BOUNDS rf_sample_split_narrow_f16(RF_PARAMS RfSampleParams p) {
  sample_rows<RF_NARROW_BLOCK, rf_half, true>(p);
}
RF_KERNEL void RF_SPLIT_NARROW_BOUNDS rf_sample_split_narrow_bf16(RF_PARAMS RfSampleParams p) {
  sample_rows<RF_NARROW_BLOCK, rf_bfloat16, true>(p);
}

// ---------------------------------------------------------------------------------------
// rf_softmax: probs = softmax(logits / T) per row (max-subtracted; T = 0 gives the one-hot
// argmax). Sums in double.
RF_KERNEL void __launch_bounds__(BLOCK) rf_softmax(RF_PARAMS RfSoftmaxParams params) {
  const float* logits = params.logits;
  float* probs = params.probs;
  const unsigned vocab = params.vocab;
  const float* temperature = params.temperature;
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
RF_KERNEL void __launch_bounds__(BLOCK) rf_prefix_sum(RF_PARAMS RfPrefixSumParams params) {
  const float* input = params.input;
  float* output = params.output;
  const unsigned vocab = params.vocab;
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
RF_KERNEL void rf_philox(RF_PARAMS RfPhiloxParams params) {
  unsigned* out = params.out;
  const unsigned *seedLo = params.seedLo, *seedHi = params.seedHi, *streamId = params.stream;
  const unsigned *stepLo = params.stepLo, *stepHi = params.stepHi;
  const unsigned draw0 = params.draw0, count = params.count;
  const unsigned row = blockIdx.y;
  for (unsigned d = blockIdx.x * blockDim.x + threadIdx.x; d < count; d += gridDim.x * blockDim.x) {
    const Philox4 r = rf_philox4x32_10(draw0 + d, streamId[row], stepLo[row], stepHi[row], seedLo[row], seedHi[row]);
    unsigned* o = out + (static_cast<size_t>(row) * count + d) * 4;
    o[0] = r.x[0]; o[1] = r.x[1]; o[2] = r.x[2]; o[3] = r.x[3];
  }
}

// rf_uniform: the 53-bit uniforms the sampler draws, as doubles.
RF_KERNEL void rf_uniform(RF_PARAMS RfUniformParams params) {
  double* out = params.out;
  const unsigned *seedLo = params.seedLo, *seedHi = params.seedHi, *streamId = params.stream;
  const unsigned *stepLo = params.stepLo, *stepHi = params.stepHi;
  const unsigned count = params.count;
  const unsigned row = blockIdx.y;
  for (unsigned d = blockIdx.x * blockDim.x + threadIdx.x; d < count; d += gridDim.x * blockDim.x) {
    out[static_cast<size_t>(row) * count + d] =
        rf_uniform53(seedLo[row], seedHi[row], stepLo[row], stepHi[row], streamId[row], d);
  }
}

// rf_adjust_logits: logit bias, then the repetition penalty, then frequency and presence
// penalties (vLLM's definitions), in place, from per-row entries (token, bias, seen in the
// prompt, count in the output) listed at entries[offsets[row] … offsets[row + 1]).
RF_KERNEL void rf_adjust_logits(RF_PARAMS RfAdjustLogitsParams params) {
  float* logits = params.logits;
  const unsigned vocab = params.vocab;
  const unsigned* offsets = params.offsets;
  const int* entryToken = params.entryToken;
  const float* entryBias = params.entryBias;
  const unsigned* entryPromptSeen = params.entryPromptSeen;
  const unsigned* entryOutputCount = params.entryOutputCount;
  const float *repetition = params.repetition, *frequency = params.frequency, *presence = params.presence;
  const unsigned row = blockIdx.x;
  float* x = logits + static_cast<size_t>(row) * vocab;
  const float r = repetition[row], f = frequency[row], pr = presence[row];
  for (unsigned e = offsets[row] + threadIdx.x; e < offsets[row + 1]; e += blockDim.x) {
    const int t = entryToken[e];
    if (t < 0 || static_cast<unsigned>(t) >= vocab) continue;
    // A -Infinity bias bans the token whatever its logit (+Infinity + -Infinity would be NaN).
    float v = entryBias[e] == -RF_INF ? -RF_INF : x[t] + entryBias[e];
    const unsigned count = entryOutputCount[e];
    if (r != 1.0f && (entryPromptSeen[e] != 0 || count != 0)) v = v > 0.0f ? v / r : v * r;
    if (count != 0) v = v - f * static_cast<float>(count) - pr;
    x[t] = v;
  }
}

// Log-normaliser of a raw row, kept as the maximum and log Σ exp(x - max) for logits (log Σ p
// for probabilities): raw_logprob subtracts them one after the other, since max + log Σ would
// round the log-sum away for huge finite logits (3e38, 3e38 → 0 instead of -log 2). With
// +Infinity logits the log-sum is log(count of them), their softmax limit.
struct RawNormaliser {
  float max;
  float logSum;
};
template <typename T>
__device__ RawNormaliser raw_log_normaliser(const T* x, unsigned vocab, unsigned kind, SharedStorage& s) {
  if (kind != RF_INPUT_KIND_LOGITS) {
    double sum = 0.0;
    for (unsigned i = threadIdx.x; i < vocab; i += BLOCK) sum += to_float(x[i]);
    return {0.0f, static_cast<float>(log(reduce_sum(sum, s)))};
  }
  float m = -RF_INF;
  for (unsigned i = threadIdx.x; i < vocab; i += BLOCK) m = fmaxf(m, to_float(x[i]));
  m = block_reduce<BLOCK>(m, MaxOp(), s.floats);
  double sum = 0.0;
  for (unsigned i = threadIdx.x; i < vocab; i += BLOCK) {
    const float v = to_float(x[i]);
    sum += m == RF_INF ? (v == RF_INF ? 1.0 : 0.0) : expf(v - m);
  }
  return {m, static_cast<float>(log(reduce_sum(sum, s)))};
}

// Raw log-probability of value v: log(v) − log Σ p for probabilities, (v − max) − log Σ for
// logits; with +Infinity logits, −log(count) for them (0 − …: +0 for a single one) and -Infinity
// for the rest.
__device__ float raw_logprob(float v, unsigned kind, RawNormaliser n) {
  if (kind != RF_INPUT_KIND_LOGITS) return logf(v) - n.logSum;
  if (n.max == RF_INF) return v == RF_INF ? 0.0f - n.logSum : -RF_INF;
  return (v - n.max) - n.logSum;
}

// Processed log-probability of value v under the row's sampled distribution (rowStats of rf_sample).
__device__ float processed_logprob(float v, bool isArgmax, const float* st) {
  const int mode = static_cast<int>(st[RF_ROW_STAT_WEIGHT_MODE]);
  if (mode == kGreedy) return isArgmax ? 0.0f : -RF_INF;
  Weigher weigh;
  weigh.mode = mode;
  weigh.max = st[RF_ROW_STAT_MAX];
  weigh.inverseTemperature = st[RF_ROW_STAT_INVERSE_TEMPERATURE];
  if (v < st[RF_ROW_STAT_THRESHOLD]) return -RF_INF;
  const float w = weigh(v);
  if (w < st[RF_ROW_STAT_MIN_WEIGHT] || w <= 0.0f) return -RF_INF;
  const float logW =
      mode == kLogits ? (v - st[RF_ROW_STAT_MAX]) * st[RF_ROW_STAT_INVERSE_TEMPERATURE] : logf(w);
  return logW - logf(st[RF_ROW_STAT_KEPT_TOTAL]);
}

// Whether a value is a candidate for the top-n: any value for raw log-probabilities, a kept
// one (under the row's statistics) for processed ones.
struct KeptUnder {
  unsigned mode;
  const float* st;
  __device__ bool operator()(float v) const { return mode == RF_LOGPROBS_MODE_RAW || processed_logprob(v, false, st) > -RF_INF; }
};

// rf_token_logprobs: log-probability of each sampled token, raw or processed (RfLogprobsMode).
// `values` are the raw inputs for mode 0 and the adjusted logits for mode 1.
template <typename T>
__device__ __forceinline__ void token_logprobs(const RfTokenLogprobsParams& params) {
  const T* values = static_cast<const T*>(params.values);
  const unsigned vocab = params.vocab;
  const unsigned kind = params.kind;
  const int* tokens = params.tokens;
  const unsigned samples = params.samples;
  const float* rowStats = params.rowStats;
  const unsigned mode = params.mode;
  float* out = params.out;
  __shared__ SharedStorage s;
  const unsigned row = blockIdx.x;
  const T* x = values + static_cast<size_t>(row) * vocab;
  const int* tok = tokens + static_cast<size_t>(row) * samples;
  float* o = out + static_cast<size_t>(row) * samples;
  const RawNormaliser normaliser = mode == RF_LOGPROBS_MODE_RAW ? raw_log_normaliser(x, vocab, kind, s) : RawNormaliser{0.0f, 0.0f};
  for (unsigned j = threadIdx.x; j < samples; j += BLOCK) {
    const int t = tok[j];
    if (t < 0) {
      o[j] = __int_as_float(0x7fc00000);  // NaN for invalid rows
      continue;
    }
    if (mode == RF_LOGPROBS_MODE_RAW) {
      o[j] = raw_logprob(to_float(x[t]), kind, normaliser);
    } else {
      const float* st = rowStats + static_cast<size_t>(row) * RF_ROW_STATS;
      // For greedy rows every draw is the argmax, so the sampled token is it.
      o[j] = processed_logprob(to_float(x[t]), true, st);
    }
  }
}
RF_KERNEL void __launch_bounds__(BLOCK) rf_token_logprobs(RF_PARAMS RfTokenLogprobsParams p) { token_logprobs<float>(p); }
RF_KERNEL void __launch_bounds__(BLOCK) rf_token_logprobs_f16(RF_PARAMS RfTokenLogprobsParams p) {
  token_logprobs<rf_half>(p);
}
RF_KERNEL void __launch_bounds__(BLOCK) rf_token_logprobs_bf16(RF_PARAMS RfTokenLogprobsParams p) {
  token_logprobs<rf_bfloat16>(p);
}

// rf_top_logprobs: the n most probable tokens per row (most probable first, lowest index on
// ties) with raw or processed log-probabilities; n ≤ RF_MAX_TOP_LOGPROBS. Processed mode
// considers only the kept set; slots past it are -1 / -Infinity.
constexpr int TOP_CAPACITY = RF_MAX_TOP_LOGPROBS;
template <typename T>
__device__ __forceinline__ void top_logprobs(const RfTopLogprobsParams& params) {
  const T* values = static_cast<const T*>(params.values);
  const unsigned vocab = params.vocab;
  const unsigned kind = params.kind;
  const unsigned n = params.n;
  const float* rowStats = params.rowStats;
  const int* sampledTokens = params.tokens;
  const unsigned samples = params.samples;
  const unsigned mode = params.mode;
  int* outTokens = params.outTokens;
  float* outLogprobs = params.outLogprobs;
  const unsigned char* valid = params.valid;
  __shared__ SharedStorage s;
  __shared__ float topValue[TOP_CAPACITY];
  __shared__ int topIndex[TOP_CAPACITY];
  __shared__ unsigned count;
  const unsigned row = blockIdx.x;
  const T* x = values + static_cast<size_t>(row) * vocab;
  int* ot = outTokens + static_cast<size_t>(row) * n;
  float* ol = outLogprobs + static_cast<size_t>(row) * n;
  if (valid[row] == RF_ROW_STATUS_NOTHING_TO_SAMPLE) {
    for (unsigned j = threadIdx.x; j < n; j += BLOCK) {
      ot[j] = -1;
      ol[j] = __int_as_float(0x7fc00000);
    }
    return;
  }
  const float* st = rowStats + static_cast<size_t>(row) * RF_ROW_STATS;
  // Greedy rows drew the argmax every time: their first sampled token is it.
  const int greedyToken = sampledTokens[static_cast<size_t>(row) * samples];
  const bool greedy = mode == RF_LOGPROBS_MODE_PROCESSED && static_cast<int>(st[RF_ROW_STAT_WEIGHT_MODE]) == kGreedy;
  const KeptUnder kept = {mode, st};
  const RawNormaliser normaliser = mode == RF_LOGPROBS_MODE_RAW ? raw_log_normaliser(x, vocab, kind, s) : RawNormaliser{0.0f, 0.0f};
  // Count the candidates; take min(n, count) of them.
  unsigned local = 0;
  if (!greedy)
    for (unsigned i = threadIdx.x; i < vocab; i += BLOCK) local += kept(to_float(x[i])) ? 1u : 0u;
  const unsigned long long candidates = greedy ? 1ull : reduce_sum(static_cast<unsigned long long>(local), s);
  const unsigned take = static_cast<unsigned>(candidates < n ? candidates : n);
  if (threadIdx.x == 0) count = 0;
  __syncthreads();
  if (greedy) {
    if (threadIdx.x == 0) {
      topValue[0] = to_float(x[greedyToken]);
      topIndex[0] = greedyToken;
      count = 1;
    }
  } else if (take > 0) {
    RowPart<BLOCK, Vector<T>::N> whole;
    whole.init(blockIdx.x, vocab, 1, nullptr);
    int timedOut = 0;
    const float threshold =
        radix_select(x, whole, &timedOut, kept, UnitWeight(), static_cast<unsigned long long>(take), -1.0, 0, s);
    // Everything strictly above the threshold (< take of them), then the lowest-index ties.
    for (unsigned i = threadIdx.x; i < vocab; i += BLOCK) {
      const float v = to_float(x[i]);
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
      const float v = i < vocab ? to_float(x[i]) : 0.0f;
      const unsigned tie = (i < vocab && v == threshold && kept(v)) ? 1u : 0u;
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
    ol[rank] = mode == RF_LOGPROBS_MODE_RAW ? raw_logprob(v, kind, normaliser) : processed_logprob(v, true, st);
  }
  for (unsigned j = m + threadIdx.x; j < n; j += BLOCK) {
    ot[j] = -1;
    ol[j] = -RF_INF;
  }
}
RF_KERNEL void __launch_bounds__(BLOCK) rf_top_logprobs(RF_PARAMS RfTopLogprobsParams p) { top_logprobs<float>(p); }
RF_KERNEL void __launch_bounds__(BLOCK) rf_top_logprobs_f16(RF_PARAMS RfTopLogprobsParams p) { top_logprobs<rf_half>(p); }
RF_KERNEL void __launch_bounds__(BLOCK) rf_top_logprobs_bf16(RF_PARAMS RfTopLogprobsParams p) {
  top_logprobs<rf_bfloat16>(p);
}

// rf_widen_f16, rf_widen_bf16: a float32 copy of half rows (exact), one block per row, for the
// paths that adjust logits in place (logit bias, penalties).
template <typename T>
__device__ __forceinline__ void widen(const RfWidenParams& params) {
  const size_t offset = static_cast<size_t>(blockIdx.x) * params.vocab;
  const T* x = static_cast<const T*>(params.input) + offset;
  float* y = params.output + offset;
  for (unsigned i = threadIdx.x; i < params.vocab; i += blockDim.x) y[i] = to_float(x[i]);
}
RF_KERNEL void rf_widen_f16(RF_PARAMS RfWidenParams p) { widen<rf_half>(p); }
RF_KERNEL void rf_widen_bf16(RF_PARAMS RfWidenParams p) { widen<rf_bfloat16>(p); }
