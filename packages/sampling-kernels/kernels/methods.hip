// rocmforge's filter-chain kernel, rf_chain: the whole filter chain of docs/GPU_SAMPLER.md
// "Semantics" on each row — top-n-sigma, top-k, top-p, min-p, typical-p, XTC, each on what the
// ones before it kept — then the draws, the row's filtered distribution (filteredProbs,
// maskedLogits, the kept values that the processed log-probability kernels read), or one position
// of a speculative verification. It reproduces packages/sampler/src/cpu/filter-chain.ts and
// speculative-verify.ts: every kept set is a threshold found exactly by radix select on ordered
// keys (counts, or masses in 64-bit fixed point so that the sums do not depend on the order of
// the atomics), the draws are the same Philox uniforms, walked in index order.
//
// One block per row, looping over the row: the vocabulary is bounded by nothing but memory.
// Each warp owns a contiguous segment of the row and reads it with 16-byte loads (row_split.h),
// so that the running kept weight of each segment locates a draw and a draw re-reads one segment.
// Passes over the row: the first (maximum, invalid values, and what the row's filters need of the
// whole row: top-n-sigma's moments, the weights' sum and entropy when typical-p is the first
// filter on); three per select (top-k, top-p; typical-p a bound pass more); the kept count
// and entropy when typical-p follows other filters; the segments' kept weights (with XTC's
// candidates gathered on the way); and what the row's output needs (the draft row, the residual,
// the values).
//
// A separate module from sampling.hip (its own binary, loaded when first used): it includes the
// shared headers only, never sampling.hip's selection code.
#include "abi.h"
#include "block.h"
#include "elements.h"
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
// +Infinity from its bits (NVRTC has no __builtin_huge_valf).
#define RF_INF (__int_as_float(0x7f800000))
#define RF_NAN (__int_as_float(0x7fc00000))

#include "weights.h"

constexpr unsigned CHAIN_BINS = 2048;
static_assert(sizeof(SplitCounters::lo) >= CHAIN_BINS * sizeof(unsigned), "the histogram fits");

#ifndef RF_CHAIN_LOADS
#define RF_CHAIN_LOADS 0
#endif
constexpr unsigned CHAIN_LOADS = RF_CHAIN_LOADS;
#ifndef RF_CHAIN_NARROW_MIN_BLOCKS
#define RF_CHAIN_NARROW_MIN_BLOCKS 4
#endif

// XTC's candidates gathered by the segments' pass (at most this many; more take a pass of their own).
constexpr unsigned XTC_LIST = 256;

// The shared state of a block of B threads: the radix histogram (reduce_argmax's scratch before
// the selects), each warp segment's kept weight, the reductions' scratch apart from both, and
// XTC's candidates.
template <int B>
struct ChainShared {
  static constexpr int kWarps = B / RF_WARP_SIZE;
  SharedStorage s;                // s.counters: CHAIN_BINS bins
  double warpSum[kWarps];         // kept weight of each warp's segment
  double warpInclusive[kWarps];   // running kept weight of the row at the end of each segment
  double doubles[kWarps];
  unsigned long long u64s[kWarps];
  int ints[kWarps];
  float floats[kWarps];
  double total;                   // the row's kept weight
  float sigmaCut;                 // top-n-sigma's cut, from the first pass
  double firstCount, firstTotal, firstWLogW;  // typical-p's sums, from the first pass (RowWeights)
  unsigned chosen;
  unsigned long long remaining;
  unsigned listCount;
  float listValue[XTC_LIST];
  float listWeight[XTC_LIST];
  int listIndex[XTC_LIST];
};

template <int B>
__device__ __forceinline__ double block_sum(double v, ChainShared<B>& sh) { return block_reduce<B>(v, SumOp(), sh.doubles); }
template <int B>
__device__ __forceinline__ int block_max(int v, ChainShared<B>& sh) { return block_reduce<B>(v, MaxOp(), sh.ints); }
template <int B>
__device__ __forceinline__ int block_min(int v, ChainShared<B>& sh) { return block_reduce<B>(v, MinOp(), sh.ints); }
template <int B>
__device__ __forceinline__ float block_min(float v, ChainShared<B>& sh) { return block_reduce<B>(v, MinOp(), sh.floats); }

// This warp's segment [a, b) of a row of element type T (RowPart's segments of a whole row).
template <int B, typename T>
__device__ __forceinline__ void warp_segment(unsigned vocab, int warp, unsigned* a, unsigned* b) {
  RowPart<B, Vector<T>::N> whole;
  whole.init(0, vocab, 1, nullptr);
  whole.segment(warp, a, b);
}

// Applies f(v, i) to every element i of the row that this thread owns: its lane's share of its
// warp's segment, in increasing i, with 16-byte loads, one per loop body (the chain's functors
// are too large to repeat: sixteen elements per body took 128 registers in the narrow kernels,
// and spilled).
template <int B, typename T, typename F>
__device__ __forceinline__ void row_for_each(const T* x, unsigned vocab, F& f) {
  unsigned a, b;
  warp_segment<B, T>(vocab, threadIdx.x / RF_WARP_SIZE, &a, &b);
  warp_for_each<CHAIN_LOADS>(x, a, b, f);
}

// ---------------------------------------------------------------------------------------
// The radix select: the value v (of the key each candidate is selected on) such that the weight
// of the candidates above v is below the target and the weight of those ≥ v reaches it, by
// rounds of at most 11 bits over ordered keys from the top, the CPU's ThresholdSelector.select.
// `entry(v, &key, &weight)` says whether the element of value v is a candidate, its key value and
// its weight (1 to count; a fixed-point mass). The target is `target`, or with `fraction` ≥ 0,
// ⌈fraction × the candidates' total weight⌉. A target above the total keeps every candidate
// (the lowest key with weight); no candidate with weight gives -Infinity (keeps everything).
//
// With `bounded`, one pass first finds the lowest and highest key among the candidates, and the
// rounds take the keys less the lowest, from their highest differing bit: an order-preserving
// map of the candidates, so the same threshold, whose first round spreads over the bins instead
// of piling into the few that the sign and exponent give (where the block's atomics on one bin
// wait for each other). Worth its pass where the keys share their top bits (typical-p's scores,
// all ≤ 0); logits of both signs do not.
template <int B, typename T, typename Entry>
__device__ float chain_select(const T* x, unsigned vocab, const Entry& entry, unsigned long long target, double fraction,
                              bool bounded, ChainShared<B>& sh) {
  unsigned base = 0;  // subtracted from every key
  int top = 32;       // bits of the keys less `base` the rounds cover
  if (bounded) {
    unsigned lo = 0xffffffffu, hi = 0u;
    auto bound = [&](float v, unsigned) {
      float value;
      unsigned long long w;
      if (!entry(v, &value, &w) || w == 0) return;
      const unsigned key = ordered_key(value);
      lo = min(lo, key);
      hi = max(hi, key);
    };
    row_for_each<B>(x, vocab, bound);
    lo = block_reduce<B>(lo, MinOp(), reinterpret_cast<unsigned*>(sh.ints));
    hi = block_reduce<B>(hi, MaxOp(), reinterpret_cast<unsigned*>(sh.ints));
    if (lo > hi) return -RF_INF;          // no candidate with weight
    if (lo == hi) return key_to_float(lo);  // one key: whatever the target, it is the threshold
    base = lo;
    top = 32 - __clz(static_cast<int>(hi - lo));
  }
  unsigned prefix = 0;
  unsigned long long remaining = target;
  for (int round = 0; top > 0; round++) {
    const int width = top < 11 ? top : 11;
    const int shift = top - width;
    const unsigned mask = (1u << width) - 1u;
    const unsigned bins = mask + 1;
    for (unsigned d = threadIdx.x; d < bins; d += B) sh.s.counters.set(d, 0ull);
    __syncthreads();
    auto add = [&](float v, unsigned) {
      float value;
      unsigned long long w;
      if (!entry(v, &value, &w) || w == 0) return;
      const unsigned key = ordered_key(value) - base;
      if (top < 32 && (key >> top) != (prefix >> top)) return;
      sh.s.counters.add((key >> shift) & mask, w);
    };
    row_for_each<B>(x, vocab, add);
    __syncthreads();
    // Thread t owns `per` consecutive digits counted from the top; an exclusive scan of their
    // sums gives each the weight above its digits, and the thread holding the crossing writes it.
    const unsigned per = (bins + B - 1) / B;
    unsigned long long local = 0;
    int lowestMine = 0x7fffffff;
    for (unsigned j = 0; j < per; j++) {
      const int d = static_cast<int>(bins) - 1 - static_cast<int>(threadIdx.x * per + j);
      if (d < 0) break;
      const unsigned long long h = sh.s.counters[d];
      local += h;
      if (h != 0) lowestMine = d;
    }
    unsigned long long total;
    const unsigned long long above = block_exclusive_sum<B>(local, &total, sh.u64s);
    if (round == 0 && total == 0) return -RF_INF;
    unsigned long long want = remaining;
    if (round == 0 && fraction >= 0.0) {
      want = static_cast<unsigned long long>(ceil(fraction * static_cast<double>(total)));
      if (want == 0) want = 1;
    }
    if (total < want) {
      // Rounding left the whole weight short of the target: down to the lowest digit with weight.
      const int lowest = block_min(lowestMine, sh);
      if (threadIdx.x == 0) {
        sh.chosen = lowest == 0x7fffffff ? 0u : static_cast<unsigned>(lowest);
        sh.remaining = ~0ull;
      }
    } else if (above < want && above + local >= want) {
      unsigned long long acc = above;
      for (unsigned j = 0; j < per; j++) {
        const int d = static_cast<int>(bins) - 1 - static_cast<int>(threadIdx.x * per + j);
        const unsigned long long h = sh.s.counters[d];
        if (h != 0 && acc + h >= want) {
          sh.chosen = static_cast<unsigned>(d);
          sh.remaining = want - acc;
          break;
        }
        acc += h;
      }
    }
    __syncthreads();
    prefix |= sh.chosen << shift;
    remaining = sh.remaining;
    __syncthreads();
    top = shift;
  }
  return key_to_float(prefix + base);
}

// ---------------------------------------------------------------------------------------
// The chain's state for a row with temperature > 0 and a finite maximum: every threshold found
// so far (those not yet found, or off, keep everything), the same in every thread.
struct Chain {
  Weigher weigh;
  unsigned kind;
  float sigmaCut;    // top-n-sigma: logit ≥ it (−Infinity: off)
  float kCut;        // top-k: x ≥ it
  float pCut;        // top-p: x ≥ it
  float minWeight;   // min-p: weight ≥ it
  bool typicalOn;    // typical-p: score ≥ typicalCut
  float logTotal;    // typical-p's log of the total and entropy of the distribution it sees
  float entropy;
  float typicalCut;
  float xtcBound;    // XTC: x ≤ it (+Infinity: off)
  float fixedScale;  // a weight's fixed-point mass: ⌊w · fixedScale⌋

  __device__ __forceinline__ float logit(float v) const { return kind == RF_INPUT_KIND_LOGITS ? v : logf(v); }
  // Typical-p's score of a weight, negated so that the select's "largest first" walks the most
  // typical first: −|log total − log w − H| (float32), −Infinity for weight 0.
  __device__ __forceinline__ float score(float w) const {
    return w > 0.0f ? -fabsf(logTotal - logf(w) - entropy) : -RF_INF;
  }
  __device__ __forceinline__ unsigned long long fixed(float w) const {
    return static_cast<unsigned long long>(w * fixedScale);
  }
  // Positive probability and top-n-sigma's cut: the candidates every later step starts from.
  __device__ __forceinline__ bool candidate(float v) const {
    if (kind == RF_INPUT_KIND_LOGITS ? v == -RF_INF : v == 0.0f) return false;
    return !(sigmaCut > -RF_INF) || logit(v) >= sigmaCut;
  }
  // Kept by every step found so far; `w` is weigh(v).
  __device__ __forceinline__ bool kept(float v, float w) const {
    return candidate(v) && v >= kCut && v >= pCut && w >= minWeight && v <= xtcBound &&
           (!typicalOn || score(w) >= typicalCut);
  }
};

// Select entries: top-k counts the candidates kept so far by value; top-p weighs them (or the
// whole row, joint order); typical-p weighs them by score.
struct TopKEntry {
  const Chain* c;
  __device__ __forceinline__ bool operator()(float v, float* key, unsigned long long* w) const {
    *key = v;
    *w = 1ull;
    return c->kept(v, 1.0f);  // min-p is not yet on: its weight test passes
  }
};
struct TopPEntry {
  const Chain* c;
  bool wholeRow;
  __device__ __forceinline__ bool operator()(float v, float* key, unsigned long long* w) const {
    *key = v;
    if (!wholeRow && !c->kept(v, 1.0f)) return false;
    *w = c->fixed(c->weigh(v));
    return true;
  }
};
struct TypicalEntry {
  const Chain* c;
  __device__ __forceinline__ bool operator()(float v, float* key, unsigned long long* w) const {
    const float weight = c->weigh(v);
    if (!c->kept(v, weight)) return false;
    *key = c->score(weight);
    *w = c->fixed(weight);
    return true;
  }
};

// What a row draws from, whatever its mode: the kept set (membership) and each kept token's
// weight. Greedy rows keep their argmax (weight 1), rows with +Infinity logits their +Infinity
// tokens (weight 1 each), the others the chain's kept set.
struct Kept {
  Chain chain;
  int mode;  // WeightMode
  int arg;
  __device__ __forceinline__ bool member(float v, unsigned i) const {
    if (mode == kGreedy) return static_cast<int>(i) == arg;
    if (mode == kInfinite) return v == RF_INF;
    return chain.kept(v, chain.weigh(v));
  }
  __device__ __forceinline__ float weight(float v, unsigned i) const {
    if (mode == kGreedy) return static_cast<int>(i) == arg ? 1.0f : 0.0f;
    if (mode == kInfinite) return v == RF_INF ? 1.0f : 0.0f;
    const float w = chain.weigh(v);
    return chain.kept(v, w) ? w : 0.0f;
  }
};

// A float sum with its rounding error carried along (Kahan): about as exact as a double sum of
// the same terms, in float arithmetic.
struct CompensatedSum {
  float sum = 0.0f;
  float error = 0.0f;
  __device__ __forceinline__ void add(float w) {
    const float y = w - error;
    const float t = sum + y;
    error = (t - sum) - y;
    sum = t;
  }
  __device__ __forceinline__ double value() const { return static_cast<double>(sum) - static_cast<double>(error); }
};

// ---------------------------------------------------------------------------------------
// 1. The first pass: the row's maximum (lowest index on ties) and invalid values, and what the
// row's filters need of the whole row. `moments`: the count, and the sum and squares about the
// thread's first value, of the finite logits (log p of the positive probabilities): top-n-sigma's
// σ. `online` (logits): the count of finite logits, and against the running maximum m the sums
// of w = exp((x − m)/T) and of w · (x − m)/T: the total and entropy typical-p needs when it is
// the first filter on (a pass of its own otherwise).
struct ChainFirst {
  unsigned kind;
  bool moments;
  bool online;
  float inverseTemperature;
  float max;
  int arg;
  int bad;
  float count;
  float shift;
  float s1;
  float s2;
  float sum;
  float wy;
  __device__ __forceinline__ void operator()(float v, unsigned i) {
    const bool ok = kind == RF_INPUT_KIND_LOGITS ? !isnan(v) : (v >= 0.0f && v < RF_INF);
    if (!ok) {
      bad = 1;
      return;
    }
    const bool larger = arg < 0 || v > max;
    if (online && v != -RF_INF) {
      if (!larger) {
        const float y = (v - max) * inverseTemperature;
        const float e = expf(y);
        sum += e;
        wy += e * y;
      } else if (arg < 0 || max == -RF_INF) {
        sum = 1.0f;
        wy = 0.0f;
      } else {
        const float d = (max - v) * inverseTemperature;
        const float f = expf(d);
        wy = (wy + sum * d) * f;
        sum = sum * f + 1.0f;
      }
    }
    if (larger) {
      max = v;
      arg = static_cast<int>(i);
    }
    if (moments || online) {
      const float l = kind == RF_INPUT_KIND_LOGITS ? v : (v > 0.0f ? logf(v) : -RF_INF);
      if (l != -RF_INF) {
        if (count == 0.0f) shift = l;
        count += 1.0f;
        if (moments) {
          const float d = l - shift;
          s1 += d;
          s2 += d * d;
        }
      }
    }
  }
};

// The first pass's moments over the block (Chan's combination of the threads' counts, means and
// squares, in double): the finite logits' count, mean and squares about the mean.
struct RowMoments {
  double count;
  double squares;
};
template <int B>
__device__ RowMoments row_moments(const ChainFirst& f, ChainShared<B>& sh) {
  const double n = static_cast<double>(f.count);
  const double mean = n > 0.0 ? static_cast<double>(f.shift) + static_cast<double>(f.s1) / n : 0.0;
  const double own = n > 0.0 ? fmax(0.0, static_cast<double>(f.s2) - static_cast<double>(f.s1) * f.s1 / n) : 0.0;
  const double count = block_sum(n, sh);
  const double rowMean = block_sum(n * mean, sh) / count;
  const double d = mean - rowMean;
  return {count, block_sum(own + n * d * d, sh)};
}

// The first pass's online sums over the block, relative to the row's maximum: the count of
// finite logits, Σ w and Σ w · log w for w = exp((x − max)/T).
struct RowWeights {
  double count;
  double total;
  double wLogW;
};
template <int B>
__device__ RowWeights row_weights(const ChainFirst& f, float max, float inverseTemperature, ChainShared<B>& sh) {
  double total = 0.0, wLogW = 0.0;
  if (f.arg >= 0 && f.max != -RF_INF && f.sum > 0.0f) {
    const float delta = (f.max - max) * inverseTemperature;
    const double e = static_cast<double>(expf(delta));
    total = static_cast<double>(f.sum) * e;
    wLogW = (static_cast<double>(f.wy) + static_cast<double>(f.sum) * delta) * e;
  }
  return {block_sum(static_cast<double>(f.count), sh), block_sum(total, sh), block_sum(wLogW, sh)};
}

// ---------------------------------------------------------------------------------------
// The segments' kept weights and the draws. Weight functors w(v, i) over the row (no device
// lambdas: NVRTC has no extended-lambda mode): the kept weight, and a verification's residual
// max(0, p − q / Σq), p = kept weight / total.
struct KeptW {
  const Kept* kept;
  __device__ __forceinline__ float operator()(float v, unsigned i) const { return kept->weight(v, i); }
};
struct ResidualW {
  const float* q;
  const Kept* kept;
  float inverseTotal;
  float inverseDraftSum;
  __device__ __forceinline__ float operator()(float v, unsigned i) const {
    return fmaxf(0.0f, kept->weight(v, i) * inverseTotal - q[i] * inverseDraftSum);
  }
};

// Per lane: its share of its segment's weight (compensated), and the elements of positive weight
// ≥ `gather` listed in sh.list… (XTC's candidates; listCount past XTC_LIST: the list is short).
template <int B, typename W>
struct SegmentPass {
  const W* weight;
  float gather;
  ChainShared<B>* sh;
  CompensatedSum sum;
  __device__ __forceinline__ void operator()(float v, unsigned i) {
    const float w = (*weight)(v, i);
    sum.add(w);
    if (w > 0.0f && w >= gather) {
      const unsigned slot = atomicAdd(&sh->listCount, 1u);
      if (slot < XTC_LIST) {
        sh->listValue[slot] = v;
        sh->listWeight[slot] = w;
        sh->listIndex[slot] = static_cast<int>(i);
      }
    }
  }
};

// sh.warpInclusive and sh.total from sh.warpSum, in warp order.
template <int B>
__device__ void running_segments(ChainShared<B>& sh) {
  if (threadIdx.x == 0) {
    double running = 0.0;
    for (int w = 0; w < ChainShared<B>::kWarps; w++) {
      running += sh.warpSum[w];
      sh.warpInclusive[w] = running;
    }
    sh.total = running;
  }
  __syncthreads();
}

// The segments' pass: each warp's weight over its segment (lanes combined in double, in lane
// order), the running weights and the row's total (returned); with `gather` finite, XTC's
// candidates listed on the way.
template <int B, typename T, typename W>
__device__ double segment_sums(const T* x, unsigned vocab, const W& weight, float gather, ChainShared<B>& sh) {
  if (threadIdx.x == 0) sh.listCount = 0;
  __syncthreads();
  SegmentPass<B, W> pass = {&weight, gather, &sh, CompensatedSum()};
  row_for_each<B>(x, vocab, pass);
  const double warpSum = warp_reduce(pass.sum.value(), SumOp());
  if (threadIdx.x % RF_WARP_SIZE == 0) sh.warpSum[threadIdx.x / RF_WARP_SIZE] = warpSum;
  __syncthreads();
  running_segments(sh);
  return sh.total;
}

// Warp w's segment walked to `target` from `running` (the whole block, or this warp alone): the
// crossing, else the segment's last element of positive weight, else -1.
template <int B, typename T, typename W>
__device__ int walk_segment(const T* x, unsigned vocab, const W& weight, int w, double running, double target,
                            bool together, ChainShared<B>& sh) {
  unsigned a, b;
  warp_segment<B, T>(vocab, w, &a, &b);
  if (together) return block_walk<B>(x, a, b, weight, running, target, sh);
  int lastKept = -1;
  const int token = warp_walk(x, a, b, weight, running, target, &lastKept);
  return token >= 0 ? token : lastKept;
}

// The token where the running weight first exceeds `target`: the first segment whose running
// weight passes it (binary search), walked; when rounding leaves the target at or past the total,
// the last element of positive weight.
template <int B, typename T, typename W>
__device__ int draw_one(const T* x, unsigned vocab, const W& weight, double target, bool together, ChainShared<B>& sh) {
  constexpr int kWarps = ChainShared<B>::kWarps;
  int lo = 0, hi = kWarps;
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    if (sh.warpInclusive[mid] > target) hi = mid; else lo = mid + 1;
  }
  if (lo < kWarps) {
    const double running = lo == 0 ? 0.0 : sh.warpInclusive[lo - 1];
    const int token = walk_segment<B>(x, vocab, weight, lo, running, target, together, sh);
    if (token >= 0) return token;
  }
  const double never = static_cast<double>(RF_INF);
  for (int w = lo < kWarps ? lo : kWarps - 1; w >= 0; w--) {
    if (!(sh.warpSum[w] > 0.0)) continue;
    const int token = walk_segment<B>(x, vocab, weight, w, 0.0, never, together, sh);
    if (token >= 0) return token;
  }
  return -1;
}

// `samples` draws of u · total: few, one after another with the whole block; many, warp w taking
// draws w, w + kWarps, … alone.
template <int B, typename T, typename W>
__device__ void chain_draws(const T* x, unsigned vocab, const W& weight, unsigned samples, int* out, unsigned seedLo,
                            unsigned seedHi, unsigned stepLo, unsigned stepHi, unsigned stream, ChainShared<B>& sh) {
  constexpr int kWarps = ChainShared<B>::kWarps;
  const bool together = samples < static_cast<unsigned>(kWarps);
  const unsigned warp = threadIdx.x / RF_WARP_SIZE;
  for (unsigned d = together ? 0u : warp; d < samples; d += together ? 1u : kWarps) {
    const double target = rf_uniform53(seedLo, seedHi, stepLo, stepHi, stream, d) * sh.total;
    const int token = draw_one<B>(x, vocab, weight, target, together, sh);
    if (together ? threadIdx.x == 0 : threadIdx.x % RF_WARP_SIZE == 0) out[d] = token;
  }
}

// XTC's coin: the upper uniform of the block of draw 0 (words 2 and 3), never a token draw.
__device__ __forceinline__ double upper_uniform53(unsigned seedLo, unsigned seedHi, unsigned stepLo, unsigned stepHi,
                                                  unsigned stream) {
  const Philox4 r = rf_philox4x32_10(0u, stream, stepLo, stepHi, seedLo, seedHi);
  const unsigned long long bits = (static_cast<unsigned long long>(r.x[2] >> 5) << 26) | (r.x[3] >> 6);
  return static_cast<double>(bits) * (1.0 / 9007199254740992.0);
}

// The chain's thresholds for a row with temperature > 0 and finite maximum, in the order of the
// CPU's FilterChain.keep; top-n-sigma's cut and, with `typicalFromFirst`, typical-p's sums are
// the first pass's (sh). XTC comes after, with the segments' pass (chain_rows).
template <int B, typename T>
__device__ Chain chain_thresholds(const T* x, const RfChainParams& p, unsigned row, const Weigher& weigh,
                                  bool typicalFromFirst, ChainShared<B>& sh) {
  const unsigned vocab = p.vocab;
  const unsigned kind = p.kind;
  Chain c;
  c.weigh = weigh;
  c.kind = kind;
  c.sigmaCut = -RF_INF;
  c.kCut = -RF_INF;
  c.pCut = -RF_INF;
  c.minWeight = 0.0f;
  c.typicalOn = false;
  c.logTotal = 0.0f;
  c.entropy = 0.0f;
  c.typicalCut = -RF_INF;
  c.xtcBound = RF_INF;
  {
    // Masses in fixed point relative to the largest weight (1, or the maximum for T = 1
    // probabilities): 2^(62 − ⌈log2 vocab⌉) for it, so that sums stay below 2^63.
    int bits = 0;
    while ((1u << bits) < vocab && bits < 31) bits++;
    const float maxWeight = weigh.mode == kPlainProbs ? weigh.max : 1.0f;
    c.fixedScale = ldexpf(1.0f, 62 - bits) / maxWeight;
  }

  // Top-n-sigma: max − n·σ over the finite logits (log p over the positive probabilities).
  if (p.topNSigma[row] > 0.0f) c.sigmaCut = sh.sigmaCut;

  // Top-k among the candidates (ties at the k-th value kept).
  const int k = p.topK[row];
  if (k > 0 && static_cast<unsigned>(k) < vocab) {
    c.kCut = chain_select(x, vocab, TopKEntry{&c}, static_cast<unsigned long long>(k), -1.0, false, sh);
  }
  // Top-p on the candidates so far (top-k first), or on the whole row (joint).
  const float topP = p.topP[row];
  if (topP < 1.0f) {
    c.pCut = chain_select(x, vocab, TopPEntry{&c, p.filterOrder == RF_FILTER_ORDER_JOINT}, 0ull,
                          static_cast<double>(topP), false, sh);
  }
  // Min-p: relative to the largest weight, which every step before keeps.
  const float minP = p.minP[row];
  if (minP > 0.0f) c.minWeight = minP * (weigh.mode == kPlainProbs ? weigh.max : 1.0f);

  // Typical-p on the distribution left so far, when it holds two tokens or more: its count,
  // total and Σ w log w from the first pass when it is the first filter on, else a pass.
  const float typicalP = p.typicalP[row];
  if (typicalP < 1.0f) {
    RowWeights stats;
    if (typicalFromFirst) {
      stats = {sh.firstCount, sh.firstTotal, sh.firstWLogW};
    } else {
      float count = 0.0f, sumWLogW = 0.0f;
      CompensatedSum sum;
      auto pass = [&](float v, unsigned) {
        const float w = weigh(v);
        if (!c.kept(v, w)) return;
        count += 1.0f;
        sum.add(w);
        if (w > 0.0f) sumWLogW += w * logf(w);
      };
      row_for_each<B>(x, vocab, pass);
      stats = {block_sum(static_cast<double>(count), sh), block_sum(sum.value(), sh),
               block_sum(static_cast<double>(sumWLogW), sh)};
    }
    if (stats.count > 1.0) {
      const double logTotal = log(stats.total);
      c.logTotal = static_cast<float>(logTotal);
      c.entropy = static_cast<float>(logTotal - stats.wLogW / stats.total);  // −Σ q log q, q = w / total
      c.typicalCut = chain_select(x, vocab, TypicalEntry{&c}, 0ull, static_cast<double>(typicalP), true, sh);
      c.typicalOn = true;
    }
  }
  return c;
}

// XTC on a row whose segments' pass is done, its coin fallen: among the kept tokens of positive
// weight ≥ threshold × the kept total, if two or more, remove every one above the least of them
// (its ties stay) — kept.chain.xtcBound. The segments lose the removed tokens' weights: from the
// list the segments' pass gathered when it holds every candidate (`gather` at or below that
// weight), else by a pass for the candidates and the segments' pass again. Returns the total.
template <int B, typename T>
__device__ double apply_xtc(const T* x, unsigned vocab, Kept& kept, float threshold, float gather, ChainShared<B>& sh) {
  const float minWeight = static_cast<float>(static_cast<double>(threshold) * sh.total);
  const unsigned listed = sh.listCount;
  const bool fromList = listed <= XTC_LIST && gather <= minWeight;
  int above = 0;
  float least = RF_INF;
  if (fromList) {
    for (unsigned e = threadIdx.x; e < listed; e += B) {
      if (sh.listWeight[e] >= minWeight) {
        above++;
        least = fminf(least, sh.listValue[e]);
      }
    }
  } else {
    auto top = [&](float v, unsigned i) {
      const float w = kept.weight(v, i);
      if (w > 0.0f && w >= minWeight) {
        above++;
        least = fminf(least, v);
      }
    };
    row_for_each<B>(x, vocab, top);
  }
  above = block_reduce<B>(above, SumOp(), sh.ints);
  least = block_min(least, sh);
  if (above < 2) return sh.total;
  kept.chain.xtcBound = least;
  if (!fromList) return segment_sums(x, vocab, KeptW{&kept}, RF_INF, sh);
  if (threadIdx.x == 0) {
    // In index order (the list is in the atomics' order), each removed weight off its segment.
    for (unsigned e = 1; e < listed; e++) {
      const int index = sh.listIndex[e];
      const float value = sh.listValue[e], weight = sh.listWeight[e];
      unsigned j = e;
      for (; j > 0 && sh.listIndex[j - 1] > index; j--) {
        sh.listIndex[j] = sh.listIndex[j - 1];
        sh.listValue[j] = sh.listValue[j - 1];
        sh.listWeight[j] = sh.listWeight[j - 1];
      }
      sh.listIndex[j] = index;
      sh.listValue[j] = value;
      sh.listWeight[j] = weight;
    }
    unsigned a, b;
    warp_segment<B, T>(vocab, 0, &a, &b);
    const unsigned per = b - a;
    for (unsigned e = 0; e < listed; e++) {
      if (!(sh.listValue[e] > least)) continue;
      const unsigned w =
          min(static_cast<unsigned>(ChainShared<B>::kWarps - 1), static_cast<unsigned>(sh.listIndex[e]) / per);
      sh.warpSum[w] = fmax(0.0, sh.warpSum[w] - static_cast<double>(sh.listWeight[e]));
    }
  }
  __syncthreads();
  running_segments(sh);
  return sh.total;
}

template <int B, typename T>
__device__ __forceinline__ void chain_rows(const RfChainParams& p) {
  __shared__ ChainShared<B> sh;
  const unsigned row = blockIdx.x;
  const unsigned vocab = p.vocab;
  const unsigned kind = p.kind;
  const T* x = static_cast<const T*>(p.input) + static_cast<size_t>(row) * vocab;
  const bool verifying = p.draft > 0;
  const unsigned samples = verifying ? 1u : p.samples;
  int* out = p.tokens == nullptr ? nullptr : p.tokens + static_cast<size_t>(row) * samples;
  float* values = p.output == RF_CHAIN_OUTPUT_NONE ? nullptr : p.values + static_cast<size_t>(row) * vocab;
  const float temperature = p.temperature[row];
  const float inverseTemperature = temperature == 0.0f ? 0.0f : 1.0f / temperature;

  // 1. The maximum (lowest index on ties), invalid values, and top-n-sigma's moments or typical-p's
  // sums when the row's filters need them.
  const int k = p.topK[row];
  const bool typicalFirst = p.typicalP[row] < 1.0f && !(p.topNSigma[row] > 0.0f) &&
                            !(k > 0 && static_cast<unsigned>(k) < vocab) && !(p.topP[row] < 1.0f) &&
                            !(p.minP[row] > 0.0f);
  const bool online = kind == RF_INPUT_KIND_LOGITS && temperature != 0.0f && typicalFirst;
  ChainFirst first = {kind, p.topNSigma[row] > 0.0f, online, inverseTemperature, -RF_INF, -1, 0,
                      0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
  row_for_each<B>(x, vocab, first);
  const ValueIndex best = reduce_argmax<B>(ValueIndex{first.max, first.arg}, sh.s);
  const int bad = block_max(first.bad, sh);
  const float max = best.value;
  const bool nothing = best.index < 0 || (kind == RF_INPUT_KIND_LOGITS ? max == -RF_INF : max == 0.0f);
  // What the filters need of the first pass, combined now (the threads' sums end here).
  if (first.moments) {
    const RowMoments m = row_moments(first, sh);
    const float top = kind == RF_INPUT_KIND_LOGITS ? max : logf(max);
    if (threadIdx.x == 0)
      sh.sigmaCut = static_cast<float>(static_cast<double>(top) -
                                       static_cast<double>(p.topNSigma[row]) * sqrt(m.squares / m.count));
  }
  if (first.online) {
    const RowWeights w = row_weights(first, max, inverseTemperature, sh);
    if (threadIdx.x == 0) {
      sh.firstCount = w.count;
      sh.firstTotal = w.total;
      sh.firstWLogW = w.wLogW;
    }
  }
  __syncthreads();
  if (bad || nothing) {
    for (unsigned j = threadIdx.x; out != nullptr && j < samples; j += B) out[j] = -1;
    if (values != nullptr)
      for (unsigned i = threadIdx.x; i < vocab; i += B) values[i] = RF_NAN;
    if (threadIdx.x == 0) {
      p.valid[row] = bad ? RF_ROW_STATUS_INVALID_VALUES : RF_ROW_STATUS_NOTHING_TO_SAMPLE;
      if (verifying) p.verdicts[row] = 0;
    }
    return;
  }

  // 2. The kept set.
  Weigher weigh;
  weigh.max = max;
  weigh.inverseTemperature = inverseTemperature;
  weigh.mode = temperature == 0.0f                            ? kGreedy
               : (kind == RF_INPUT_KIND_LOGITS && max == RF_INF) ? kInfinite
               : kind == RF_INPUT_KIND_LOGITS                  ? kLogits
               : temperature == 1.0f                           ? kPlainProbs
                                                               : kProbs;
  Kept kept;
  kept.mode = weigh.mode;
  kept.arg = best.index;
  const bool filtering = weigh.mode != kGreedy && weigh.mode != kInfinite;
  if (filtering) {
    kept.chain = chain_thresholds(x, p, row, weigh, first.online, sh);
  } else {
    kept.chain.weigh = weigh;
  }

  // 3. The segments' kept weights, with XTC's candidates gathered on the way when its coin falls:
  // every kept token of probability ≥ the threshold has a weight ≥ threshold × the largest weight,
  // which every filter but typical-p keeps (with typical-p on, XTC takes passes of its own).
  const unsigned seedLo = p.seedLo[row], seedHi = p.seedHi[row], stepLo = p.stepLo[row], stepHi = p.stepHi[row],
                 stream = p.stream[row];
  const float xtcProbability = p.xtcProbability[row];
  const bool xtc = filtering && xtcProbability > 0.0f &&
                   upper_uniform53(seedLo, seedHi, stepLo, stepHi, stream) < static_cast<double>(xtcProbability);
  const float xtcThreshold = p.xtcThreshold[row];
  const float maxWeight = weigh.mode == kPlainProbs ? weigh.max : 1.0f;
  const float gather = xtc && !kept.chain.typicalOn ? xtcThreshold * maxWeight * (1.0f - 1.0f / 1024.0f) : RF_INF;
  const KeptW keptW = {&kept};
  double total = segment_sums(x, vocab, keptW, gather, sh);
  if (xtc) total = apply_xtc(x, vocab, kept, xtcThreshold, gather, sh);

  // 4. The draws (a verification's bonus position draws as `sample` does; its other positions
  // below).
  const unsigned position = verifying ? (p.firstRow + row) % (p.draft + 1) : 0u;
  const bool bonus = !verifying || position == p.draft;
  if (out != nullptr && bonus)
    chain_draws<B>(x, vocab, keptW, samples, out, seedLo, seedHi, stepLo, stepHi, stream, sh);

  // 5. A verification position with a draft token: accept it when u · q(d) < p(d), u the uniform
  // of draw 1; else draw from the residual max(0, p − q) (from p when it rounds to nothing) with
  // the uniform of draw 0.
  if (verifying && !bonus) {
    const unsigned verified = (p.firstRow + row) / (p.draft + 1);
    const size_t draftRow = static_cast<size_t>(verified) * p.draft + position;
    const float* q = p.draftProbs + draftRow * vocab;
    CompensatedSum sum;
    int invalid = 0;
    auto check = [&](float v, unsigned) {
      if (!(v >= 0.0f && v < RF_INF)) invalid = 1;
      else sum.add(v);
    };
    row_for_each<B>(q, vocab, check);
    invalid = block_max(invalid, sh);
    const double draftSum = block_sum(sum.value(), sh);
    unsigned char verdict = 0;
    int token = -1;
    if (invalid || !(draftSum > 0.0 && draftSum < static_cast<double>(RF_INF))) {
      verdict = RF_VERDICT_DRAFT_INVALID;
    } else {
      const int d = p.draftTokens[draftRow];
      const bool inRow = d >= 0 && static_cast<unsigned>(d) < vocab;
      const float vd = inRow ? to_float(x[d]) : -RF_INF;
      const double pd = inRow ? static_cast<double>(kept.weight(vd, d)) / total : 0.0;
      const double qd = inRow ? static_cast<double>(q[d]) / draftSum : 0.0;
      const double u = rf_uniform53(seedLo, seedHi, stepLo, stepHi, stream, 1);
      if (u * qd < pd) {
        verdict = RF_VERDICT_ACCEPTED;
      } else {
        const ResidualW residualW = {q, &kept, static_cast<float>(1.0 / total), static_cast<float>(1.0 / draftSum)};
        const double residual = segment_sums(x, vocab, residualW, RF_INF, sh);
        const double u0 = rf_uniform53(seedLo, seedHi, stepLo, stepHi, stream, 0);
        if (residual > 0.0) {
          token = draw_one<B>(x, vocab, residualW, u0 * residual, true, sh);
        } else {
          const double again = segment_sums(x, vocab, keptW, RF_INF, sh);
          token = draw_one<B>(x, vocab, keptW, u0 * again, true, sh);
        }
      }
    }
    if (threadIdx.x == 0) {
      if (out != nullptr) out[0] = token;
      p.verdicts[row] = verdict;
    }
  }

  // 6. The row's distribution, when asked for.
  if (values != nullptr) {
    const float inverseTotal = static_cast<float>(1.0 / total);
    auto write = [&](float v, unsigned i) {
      float o;
      if (p.output == RF_CHAIN_OUTPUT_PROBS) {
        o = kept.weight(v, i) * inverseTotal;
      } else if (p.output == RF_CHAIN_OUTPUT_LOGITS) {
        if (!kept.member(v, i)) o = -RF_INF;
        else if (kept.mode == kGreedy || kept.mode == kInfinite) o = v;
        else o = (kind == RF_INPUT_KIND_LOGITS ? v : logf(v)) * inverseTemperature;
      } else {
        o = kept.mode == kGreedy || kept.mode == kInfinite || kept.member(v, i)
                ? v
                : (kind == RF_INPUT_KIND_LOGITS ? -RF_INF : 0.0f);
      }
      values[i] = o;
    };
    row_for_each<B>(x, vocab, write);
  }
  if (threadIdx.x == 0) {
    p.valid[row] = RF_ROW_STATUS_SAMPLED;
    if (p.rowStats != nullptr) {
      // What the log-probability kernels need (with the kept values as their input): the kept
      // set is then every value above -Infinity (0 for probabilities).
      float* st = p.rowStats + static_cast<size_t>(row) * RF_ROW_STATS;
      st[RF_ROW_STAT_WEIGHT_MODE] = static_cast<float>(weigh.mode);
      st[RF_ROW_STAT_MAX] = max;
      st[RF_ROW_STAT_INVERSE_TEMPERATURE] = weigh.inverseTemperature;
      st[RF_ROW_STAT_KEPT_TOTAL] = weigh.mode == kGreedy ? 1.0f : static_cast<float>(total);
      st[RF_ROW_STAT_THRESHOLD] = weigh.mode == kGreedy ? max : -RF_INF;
      st[RF_ROW_STAT_MIN_WEIGHT] = 0.0f;
    }
  }
}

// One row per block of BLOCK threads; one entry point per element type (abi.h).
RF_KERNEL void __launch_bounds__(BLOCK) rf_chain(RF_PARAMS RfChainParams p) { chain_rows<BLOCK, float>(p); }
RF_KERNEL void __launch_bounds__(BLOCK) rf_chain_f16(RF_PARAMS RfChainParams p) { chain_rows<BLOCK, rf_half>(p); }
RF_KERNEL void __launch_bounds__(BLOCK) rf_chain_bf16(RF_PARAMS RfChainParams p) { chain_rows<BLOCK, rf_bfloat16>(p); }

// The same with blocks of RF_NARROW_BLOCK threads, for batches of several rows per
// multiprocessor: one row's serial phases (reductions, digit choices) overlap other rows' passes;
// RF_CHAIN_NARROW_MIN_BLOCKS of them per multiprocessor at least (registers capped to match).
#define RF_CHAIN_NARROW_BOUNDS RF_LAUNCH_BOUNDS_MIN_BLOCKS(RF_NARROW_BLOCK, RF_CHAIN_NARROW_MIN_BLOCKS)
RF_KERNEL void RF_CHAIN_NARROW_BOUNDS rf_chain_narrow(RF_PARAMS RfChainParams p) {
  chain_rows<RF_NARROW_BLOCK, float>(p);
}
RF_KERNEL void RF_CHAIN_NARROW_BOUNDS rf_chain_narrow_f16(RF_PARAMS RfChainParams p) {
  chain_rows<RF_NARROW_BLOCK, rf_half>(p);
}
RF_KERNEL void RF_CHAIN_NARROW_BOUNDS rf_chain_narrow_bf16(RF_PARAMS RfChainParams p) {
  chain_rows<RF_NARROW_BLOCK, rf_bfloat16>(p);
}
