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
// Passes over the row: the maximum; σ's two (top-n-sigma); three per select (top-k, top-p,
// typical-p); the kept count and entropy (typical-p); two for XTC; the running kept weights; and
// what the row's output needs (the draft row, the residual, the values).
//
// A separate module from sampling.hip (its own binary, loaded when first used): it includes the
// shared headers only, never sampling.hip's selection code.
#include "abi.h"
#include "block.h"
#include "elements.h"
#include "philox.h"

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
static_assert(sizeof(SharedStorage::histogram) >= CHAIN_BINS * sizeof(unsigned long long), "the histogram fits");

// The shared state of a block of B threads: the radix histogram (reduce_argmax's scratch before
// the selects), the running weights of the threads' chunks, and the reductions' scratch apart
// from both.
template <int B>
struct ChainShared {
  static constexpr int kWarps = B / RF_WARP_SIZE;
  SharedStorage s;             // s.histogram: CHAIN_BINS bins
  double before[B];            // weight of the chunks before each thread's
  double local[B];             // weight of each thread's chunk (a compensated float sum in index order)
  double doubles[kWarps];
  unsigned long long u64s[kWarps];
  int ints[kWarps];
  float floats[kWarps];
  unsigned chosen;
  unsigned long long remaining;
};

template <int B>
__device__ __forceinline__ double block_sum(double v, ChainShared<B>& sh) { return block_reduce<B>(v, SumOp(), sh.doubles); }
template <int B>
__device__ __forceinline__ int block_max(int v, ChainShared<B>& sh) { return block_reduce<B>(v, MaxOp(), sh.ints); }
template <int B>
__device__ __forceinline__ int block_min(int v, ChainShared<B>& sh) { return block_reduce<B>(v, MinOp(), sh.ints); }
template <int B>
__device__ __forceinline__ float block_min(float v, ChainShared<B>& sh) { return block_reduce<B>(v, MinOp(), sh.floats); }

// Applies f(v, i) to every element i of the row that this thread owns (i = threadIdx.x + k·B,
// in increasing i), two loads in flight at a time (four made the 1024-thread blocks spill).
template <int B, typename T, typename F>
__device__ __forceinline__ void row_for_each(const T* x, unsigned vocab, F& f) {
  unsigned i = threadIdx.x;
  for (; i + B < vocab; i += 2 * B) {
    const float v0 = to_float(x[i]);
    const float v1 = to_float(x[i + B]);
    f(v0, i);
    f(v1, i + B);
  }
  if (i < vocab) f(to_float(x[i]), i);
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
    for (unsigned d = threadIdx.x; d < bins; d += B) sh.s.histogram[d] = 0;
    __syncthreads();
    auto add = [&](float v, unsigned) {
      float value;
      unsigned long long w;
      if (!entry(v, &value, &w) || w == 0) return;
      const unsigned key = ordered_key(value) - base;
      if (top < 32 && (key >> top) != (prefix >> top)) return;
      atomicAdd(&sh.s.histogram[(key >> shift) & mask], w);
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
      const unsigned long long h = sh.s.histogram[d];
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
        const unsigned long long h = sh.s.histogram[d];
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

// The block's running weights over the row in index order: thread t sums its chunk of
// consecutive elements [t · per, (t + 1) · per) (sh.local, a compensated sum), and sh.before
// holds the weight of the chunks before it; the total of the row and its last token of positive
// weight are returned. A draw then walks one chunk, in the same order, so its sums match these.
struct RunningWeights {
  double total;
  int lastPositive;
};
template <int B, typename W>
__device__ RunningWeights running_weights(unsigned vocab, const W& weightAt, ChainShared<B>& sh) {
  const unsigned per = (vocab + B - 1) / B;
  const unsigned first = min(vocab, threadIdx.x * per);
  const unsigned last = min(vocab, first + per);
  CompensatedSum sum;
  int lastPositive = -1;
  for (unsigned i = first; i < last; i++) {
    const float w = weightAt(i);
    sum.add(w);
    if (w > 0.0f) lastPositive = static_cast<int>(i);
  }
  const double local = sum.value();
  double total;
  const double before = block_exclusive_sum<B>(local, &total, sh.doubles);
  sh.before[threadIdx.x] = before;
  sh.local[threadIdx.x] = local;
  lastPositive = block_max(lastPositive, sh);  // (its barrier publishes before and local)
  return {total, lastPositive};
}

// The token where the running weight first exceeds `target`, by one thread: the first chunk
// whose running weight passes it (binary search), walked as running_weights summed it; the last
// token of positive weight when rounding leaves the target at or past the total.
template <int B, typename W>
__device__ int walk_to(unsigned vocab, const W& weightAt, double target, int lastPositive, const ChainShared<B>& sh) {
  int lo = 0, hi = B;
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    if (sh.before[mid] + sh.local[mid] > target) hi = mid; else lo = mid + 1;
  }
  if (lo == B) return lastPositive;
  const unsigned per = (vocab + B - 1) / B;
  const unsigned first = min(vocab, static_cast<unsigned>(lo) * per);
  const unsigned last = min(vocab, first + per);
  const double before = sh.before[lo];
  CompensatedSum acc;
  for (unsigned i = first; i < last; i++) {
    const float w = weightAt(i);
    acc.add(w);
    if (w > 0.0f && before + acc.value() > target) return static_cast<int>(i);
  }
  return lastPositive;
}

// Weight functors over the row (no device lambdas: NVRTC has no extended-lambda mode).
template <typename T>
struct KeptWeightAt {
  const T* x;
  const Kept* kept;
  __device__ __forceinline__ float operator()(unsigned i) const {
    const float v = to_float(x[i]);
    return kept->weight(v, i);
  }
};
// The residual max(0, p − q / Σq) of a verification, p = kept weight / total.
template <typename T>
struct ResidualAt {
  const T* x;
  const float* q;
  const Kept* kept;
  float inverseTotal;
  float inverseDraftSum;
  __device__ __forceinline__ float operator()(unsigned i) const {
    const float v = to_float(x[i]);
    return fmaxf(0.0f, kept->weight(v, i) * inverseTotal - q[i] * inverseDraftSum);
  }
};

// XTC's coin: the upper uniform of the block of draw 0 (words 2 and 3), never a token draw.
__device__ __forceinline__ double upper_uniform53(unsigned seedLo, unsigned seedHi, unsigned stepLo, unsigned stepHi,
                                                  unsigned stream) {
  const Philox4 r = rf_philox4x32_10(0u, stream, stepLo, stepHi, seedLo, seedHi);
  const unsigned long long bits = (static_cast<unsigned long long>(r.x[2] >> 5) << 26) | (r.x[3] >> 6);
  return static_cast<double>(bits) * (1.0 / 9007199254740992.0);
}

// The chain's thresholds for a row with temperature > 0 and finite maximum `max`, in the order
// of the CPU's FilterChain.keep.
template <int B, typename T>
__device__ Chain chain_thresholds(const T* x, const RfChainParams& p, unsigned row, const Weigher& weigh,
                                  ChainShared<B>& sh) {
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

  // Top-n-sigma: max − n·σ over the finite logits (log p over the positive probabilities):
  // the mean, then the squares about it, per thread in float, combined in double.
  const float n = p.topNSigma[row];
  if (n > 0.0f) {
    float sum = 0.0f;
    float count = 0.0f;
    auto moments = [&](float value, unsigned) {
      const float v = c.logit(value);
      if (v == -RF_INF) return;
      sum += v;
      count += 1.0f;
    };
    row_for_each<B>(x, vocab, moments);
    const double total = block_sum(static_cast<double>(sum), sh);
    const double finite = block_sum(static_cast<double>(count), sh);
    const double mean = total / finite;
    const float meanF = static_cast<float>(mean);
    float squares = 0.0f;
    auto spread = [&](float value, unsigned) {
      const float v = c.logit(value);
      if (v == -RF_INF) return;
      const float d = v - meanF;
      squares += d * d;
    };
    row_for_each<B>(x, vocab, spread);
    const double correction = static_cast<double>(meanF) - mean;  // the mean's rounding to float
    const double sq = block_sum(static_cast<double>(squares), sh) - finite * correction * correction;
    c.sigmaCut = static_cast<float>(static_cast<double>(c.logit(weigh.max)) - static_cast<double>(n) * sqrt(sq / finite));
  }

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

  // Typical-p on the distribution left so far, when it holds two tokens or more.
  const float typicalP = p.typicalP[row];
  if (typicalP < 1.0f) {
    float count = 0.0f, sumWLogW = 0.0f;
    CompensatedSum sum;
    auto stats = [&](float v, unsigned) {
      const float w = weigh(v);
      if (!c.kept(v, w)) return;
      count += 1.0f;
      sum.add(w);
      if (w > 0.0f) sumWLogW += w * logf(w);
    };
    row_for_each<B>(x, vocab, stats);
    const double keptCount = block_sum(static_cast<double>(count), sh);
    const double total = block_sum(sum.value(), sh);
    const double wLogW = block_sum(static_cast<double>(sumWLogW), sh);
    if (keptCount > 1.0) {
      const double logTotal = log(total);
      c.logTotal = static_cast<float>(logTotal);
      c.entropy = static_cast<float>(logTotal - wLogW / total);  // −Σ q log q, q = w / total
      c.typicalCut = chain_select(x, vocab, TypicalEntry{&c}, 0ull, static_cast<double>(typicalP), true, sh);
      c.typicalOn = true;
    }
  }

  // XTC, when its coin falls: among the kept tokens of positive weight ≥ threshold × the kept
  // total, if two or more, remove every one above the least of them (its ties stay).
  const float xtcProbability = p.xtcProbability[row];
  if (xtcProbability > 0.0f &&
      upper_uniform53(p.seedLo[row], p.seedHi[row], p.stepLo[row], p.stepHi[row], p.stream[row]) <
          static_cast<double>(xtcProbability)) {
    float count = 0.0f;
    CompensatedSum sum;
    auto stats = [&](float v, unsigned) {
      const float w = weigh(v);
      if (!c.kept(v, w)) return;
      count += 1.0f;
      sum.add(w);
    };
    row_for_each<B>(x, vocab, stats);
    const double keptCount = block_sum(static_cast<double>(count), sh);
    const double total = block_sum(sum.value(), sh);
    if (keptCount > 1.0) {
      const float minWeight = static_cast<float>(static_cast<double>(p.xtcThreshold[row]) * total);
      int above = 0;
      float least = RF_INF;
      auto top = [&](float v, unsigned) {
        const float w = weigh(v);
        if (w > 0.0f && w >= minWeight && c.kept(v, w)) {
          above++;
          least = fminf(least, v);
        }
      };
      row_for_each<B>(x, vocab, top);
      above = block_reduce<B>(above, SumOp(), sh.ints);
      least = block_min(least, sh);
      if (above >= 2) c.xtcBound = least;
    }
  }
  return c;
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

  // 1. The maximum (lowest index on ties) and invalid values.
  FirstPass first = {kind, false, 0.0f, -RF_INF, -1, 0, 0.0f};
  row_for_each<B>(x, vocab, first);
  const ValueIndex best = reduce_argmax<B>(ValueIndex{first.max, first.arg}, sh.s);
  const int bad = block_max(first.bad, sh);
  const float max = best.value;
  const bool nothing = best.index < 0 || (kind == RF_INPUT_KIND_LOGITS ? max == -RF_INF : max == 0.0f);
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
  const float temperature = p.temperature[row];
  Weigher weigh;
  weigh.max = max;
  weigh.inverseTemperature = temperature == 0.0f ? 0.0f : 1.0f / temperature;
  weigh.mode = temperature == 0.0f                            ? kGreedy
               : (kind == RF_INPUT_KIND_LOGITS && max == RF_INF) ? kInfinite
               : kind == RF_INPUT_KIND_LOGITS                  ? kLogits
               : temperature == 1.0f                           ? kPlainProbs
                                                               : kProbs;
  Kept kept;
  kept.mode = weigh.mode;
  kept.arg = best.index;
  if (weigh.mode == kGreedy || weigh.mode == kInfinite) {
    kept.chain.weigh = weigh;
  } else {
    kept.chain = chain_thresholds(x, p, row, weigh, sh);
  }

  // 3. The running kept weights, and the draws (a verification's bonus position draws as
  // `sample` does; its other positions below).
  const KeptWeightAt<T> keptAt = {x, &kept};
  const RunningWeights running = running_weights(vocab, keptAt, sh);
  const double total = running.total;
  const unsigned seedLo = p.seedLo[row], seedHi = p.seedHi[row], stepLo = p.stepLo[row], stepHi = p.stepHi[row],
                 stream = p.stream[row];
  const unsigned position = verifying ? (p.firstRow + row) % (p.draft + 1) : 0u;
  const bool bonus = !verifying || position == p.draft;
  if (out != nullptr && bonus) {
    for (unsigned d = threadIdx.x; d < samples; d += B) {
      const double target = rf_uniform53(seedLo, seedHi, stepLo, stepHi, stream, d) * total;
      out[d] = walk_to(vocab, keptAt, target, running.lastPositive, sh);
    }
  }

  // 4. A verification position with a draft token: accept it when u · q(d) < p(d), u the uniform
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
      const float vd = (d >= 0 && static_cast<unsigned>(d) < vocab) ? to_float(x[d]) : -RF_INF;
      const double pd = (d >= 0 && static_cast<unsigned>(d) < vocab) ? static_cast<double>(kept.weight(vd, d)) / total : 0.0;
      const double qd = (d >= 0 && static_cast<unsigned>(d) < vocab) ? static_cast<double>(q[d]) / draftSum : 0.0;
      const double u = rf_uniform53(seedLo, seedHi, stepLo, stepHi, stream, 1);
      if (u * qd < pd) {
        verdict = RF_VERDICT_ACCEPTED;
      } else {
        const ResidualAt<T> residualAt = {x, q, &kept, static_cast<float>(1.0 / total), static_cast<float>(1.0 / draftSum)};
        const RunningWeights residual = running_weights(vocab, residualAt, sh);
        const double u0 = rf_uniform53(seedLo, seedHi, stepLo, stepHi, stream, 0);
        if (residual.total > 0.0) {
          if (threadIdx.x == 0) token = walk_to(vocab, residualAt, u0 * residual.total, residual.lastPositive, sh);
        } else {
          const RunningWeights again = running_weights(vocab, keptAt, sh);
          if (threadIdx.x == 0) token = walk_to(vocab, keptAt, u0 * again.total, again.lastPositive, sh);
        }
      }
    }
    if (threadIdx.x == 0) {
      if (out != nullptr) out[0] = token;
      p.verdicts[row] = verdict;
    }
  }

  // 5. The row's distribution, when asked for.
  if (values != nullptr) {
    const float inverseTotal = static_cast<float>(1.0 / total);
    const float inverseTemperature = weigh.inverseTemperature;
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
// multiprocessor: one row's serial phases (reductions, digit choices) overlap other rows' passes.
RF_KERNEL void __launch_bounds__(RF_NARROW_BLOCK) rf_chain_narrow(RF_PARAMS RfChainParams p) {
  chain_rows<RF_NARROW_BLOCK, float>(p);
}
RF_KERNEL void __launch_bounds__(RF_NARROW_BLOCK) rf_chain_narrow_f16(RF_PARAMS RfChainParams p) {
  chain_rows<RF_NARROW_BLOCK, rf_half>(p);
}
RF_KERNEL void __launch_bounds__(RF_NARROW_BLOCK) rf_chain_narrow_bf16(RF_PARAMS RfChainParams p) {
  chain_rows<RF_NARROW_BLOCK, rf_bfloat16>(p);
}
