// Part of kernels/sampling.hip: rf_sample's block state, the combination of kept weights across
// warps and split rows, and the draws (walking the row, or from the candidate buffer).
#pragma once
#include "philox.h"
#include "select.h"

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
template <int B, unsigned G>
__device__ void combine_sums(SampleShared& sh, RowPart<B, G>& rp, bool online, bool rescale, float max,
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

// The draws. Few draws: one at a time, the block whose chunk holds the target walking the
// segment that holds it together. Many: warp w of each block takes draws w, w + kWarps, …
// and walks alone.
template <int B, typename T>
__device__ void draw_tokens(SampleShared& sh, const RowPart<B, Vector<T>::N>& rp, const T* x, const KeptWeight& kept,
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
  if (m <= RANK_CANDIDATES && m <= static_cast<unsigned>(B)) {
    // Few: each entry counts the entries of lower index and moves there (one barrier, not a sort's dozens).
    __syncthreads();
    float w = 0.0f;
    int i = 0;
    unsigned rank = 0;
    if (threadIdx.x < m) {
      w = weight[threadIdx.x];
      i = index[threadIdx.x];
      for (unsigned j = 0; j < m; j++) rank += index[j] < i ? 1u : 0u;
    }
    __syncthreads();
    if (threadIdx.x < m) {
      weight[rank] = w;
      index[rank] = i;
    }
    __syncthreads();
  } else {
    unsigned size = 1;
    while (size < m) size <<= 1;
    for (unsigned e = m + threadIdx.x; e < size; e += B) {
      weight[e] = 0.0f;
      index[e] = 0x7fffffff;
    }
    // Sorted by index (indices are distinct; padding sorts last).
    bitonic_sort<B>(index, size, false, FloatPayload{weight});
  }
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
