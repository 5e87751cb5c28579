// Splitting one row over several blocks. When the batch is smaller than the chip, a row is cut
// into `parts` contiguous chunks, one block each (all of them resident at once: the host keeps
// batch × parts at or below the multiprocessor count), and the blocks of a row meet at row
// barriers to combine what each found. Each warp of a block owns a contiguous segment of its
// block's chunk, so that a draw can re-read a single segment instead of the row.
#pragma once
#include "abi.h"
#include "block.h"
#include "elements.h"

constexpr int MAX_PARTS = RF_MAX_ROW_PARTS;
constexpr int HISTOGRAM_BINS = 2048;
constexpr int HISTOGRAM_ROUNDS = 6;  // three rounds of top-k, three of top-p
// Entries of a split row's candidate buffer in device memory (select.h's CANDIDATE_CAPACITY).
constexpr unsigned SPLIT_CANDIDATES = 1024;

// Per-row scratch in device memory, used when parts > 1. Zeroed once when allocated; the kernel
// leaves the barrier counters at zero when it ends and clears the histograms before using them.
struct RowScratch {
  unsigned barrier;   // arrivals at the row's barriers in this launch
  unsigned exits;     // blocks finished, to reset `barrier` safely
  unsigned poisoned;  // sticky: a barrier timed out (a block never arrived); the host must re-zero
  unsigned pad;
  float maxes[MAX_PARTS];
  int argmax[MAX_PARTS];
  int bad[MAX_PARTS];
  int last[MAX_PARTS];
  double sums[MAX_PARTS];
  unsigned long long histogram[HISTOGRAM_ROUNDS][HISTOGRAM_BINS];
  // Top-k on a split row (sampling.hip, split_top_k): each block's bound, then the row's
  // elements at or above the lowest of them, gathered by every block.
  unsigned candidates;      // entries gathered this launch; the last block out resets it
  unsigned fineCandidates;  // the same for top-p's finer bin (spread.h), into the same entries
  float bound[MAX_PARTS];
  float candValue[SPLIT_CANDIDATES];
  int candIndex[SPLIT_CANDIDATES];
};
// The size the host allocates per row (abi.h).
static_assert(sizeof(RowScratch) == RF_SPLIT_SCRATCH_BYTES, "RowScratch is RF_SPLIT_SCRATCH_BYTES");

// Polls before a barrier gives up (a few seconds): a row whose blocks were not all resident
// reports an error instead of hanging the device.
constexpr unsigned BARRIER_SPIN_LIMIT = 1u << 25;

// GRAIN: chunks and segments are multiples of this many elements (one 16-byte load of the row's
// element type, Vector<T>::N), so that they start on a 16-byte boundary when the row does.
template <int BLOCK, unsigned GRAIN = 4>
struct RowPart {
  static constexpr int kWarps = BLOCK / RF_WARP_SIZE;
  unsigned row;
  unsigned part;
  unsigned parts;
  unsigned begin;  // this block's chunk [begin, end) of the row
  unsigned end;
  RowScratch* scratch;  // null when parts == 1
  unsigned arrivals;    // thread 0: the count the next barrier waits for

  __device__ void init(unsigned blockIndex, unsigned vocab, unsigned partsPerRow, void* scratchBase) {
    parts = partsPerRow;
    row = blockIndex / parts;
    part = blockIndex % parts;
    // Chunks of a multiple of GRAIN elements keep 16-byte loads aligned inside a row.
    const unsigned chunk = ((vocab + parts - 1) / parts + (GRAIN - 1)) & ~(GRAIN - 1);
    begin = min(vocab, part * chunk);
    end = min(vocab, begin + chunk);
    scratch = parts > 1 ? static_cast<RowScratch*>(scratchBase) + row : nullptr;
    arrivals = 0;
  }

  // This warp's segment of the chunk; segments are multiples of GRAIN elements long.
  __device__ void segment(int warp, unsigned* a, unsigned* b) const {
    const unsigned length = end - begin;
    const unsigned per = ((length + kWarps - 1) / kWarps + (GRAIN - 1)) & ~(GRAIN - 1);
    *a = min(end, begin + warp * per);
    *b = min(end, *a + per);
  }

  // All blocks of the row reach this point before any goes on; global writes made before it
  // are visible after it. A no-op barrier of the block when the row has one block.
  __device__ void sync(int* timedOut) {
    __syncthreads();
    if (parts > 1) {
      if (threadIdx.x == 0) {
        arrivals += parts;
        __threadfence();
        atomicAdd(&scratch->barrier, 1u);
        const volatile unsigned* counter = &scratch->barrier;
        unsigned spins = 0;
        while (*counter < arrivals) {
          rf_pause();
          if (++spins > BARRIER_SPIN_LIMIT) {
            *timedOut = 1;
            break;
          }
        }
        __threadfence();
      }
      __syncthreads();
    }
  }

  // The last block of the row to finish resets the barrier counters for the next launch.
  __device__ void finish(int timedOut) {
    __syncthreads();
    if (parts > 1 && threadIdx.x == 0) {
      if (timedOut) atomicExch(&scratch->poisoned, 1u);
      __threadfence();
      if (atomicAdd(&scratch->exits, 1u) == parts - 1) {
        atomicExch(&scratch->candidates, 0u);
        atomicExch(&scratch->fineCandidates, 0u);
        atomicExch(&scratch->barrier, 0u);
        atomicExch(&scratch->exits, 0u);
      }
    }
  }
};

// The row-splitting of a row of element type T.
template <int BLOCK, typename T>
using RowPartOf = RowPart<BLOCK, Vector<T>::N>;

// Calls f(value, index) for every element of x[a, b) that this warp owns, widened to float:
// lanes stride through the segment with 16-byte loads (Vector<T>::N elements) where the address
// allows it and scalar loads at the ends, so that a vocabulary that is not a multiple of N
// costs no more per element.
//
// LOADS > 1 issues that many 16-byte loads per lane before handing any element to `f`: the
// functors' atomics and shared-memory stores otherwise keep the compiler from moving the next
// load above them, and a block alone on its multiprocessor (a wide block per row) then has about
// one request per lane in flight, far from what the memory system needs. A lane visits its
// elements in the same order either way, so per-thread sums are bit-identical.
template <unsigned LOADS = 1, typename T, typename F>
__device__ __forceinline__ void warp_for_each(const T* x, unsigned a, unsigned b, F& f) {
  using V = Vector<T>;
  constexpr unsigned N = V::N;
  using Load = typename V::Load;
  const unsigned lane = threadIdx.x % RF_WARP_SIZE;
  if (a >= b) return;
  const unsigned misaligned = static_cast<unsigned>((reinterpret_cast<size_t>(x + a) / sizeof(T)) & (N - 1));
  const unsigned head = misaligned ? min(N - misaligned, b - a) : 0u;
  if (lane < head) f(to_float(x[a + lane]), a + lane);
  const unsigned start = a + head;
  const unsigned vectors = (b - start) / N;
  const Load* v = reinterpret_cast<const Load*>(x + start);
  if constexpr (LOADS > 1) {
    unsigned j = lane;
    for (; j + (LOADS - 1) * RF_WARP_SIZE < vectors; j += LOADS * RF_WARP_SIZE) {
      Load q[LOADS];
#pragma unroll
      for (unsigned u = 0; u < LOADS; u++) q[u] = v[j + u * RF_WARP_SIZE];
#pragma unroll
      for (unsigned u = 0; u < LOADS; u++) {
        const unsigned i = start + N * (j + u * RF_WARP_SIZE);
        float e[N];
        V::unpack(q[u], e);
#pragma unroll
        for (unsigned n = 0; n < N; n++) f(e[n], i + n);
      }
    }
#pragma unroll 1
    for (; j < vectors; j += RF_WARP_SIZE) {
      const unsigned i = start + N * j;
      float e[N];
      V::unpack(v[j], e);
#pragma unroll
      for (unsigned n = 0; n < N; n++) f(e[n], i + n);
    }
  } else {
    // Sixteen elements per unrolled body whatever the type (four float4 loads, two of eight
    // halves): the half types' 32 widened elements per body spilled in the narrow kernels.
    // LOADS = 0: one load per body, not unrolled (functors too large to repeat in registers).
    constexpr unsigned kUnroll = LOADS == 0 ? 1u : 16 / N;
#pragma unroll kUnroll
    for (unsigned j = lane; j < vectors; j += RF_WARP_SIZE) {
      const unsigned i = start + N * j;
      float e[N];
      V::unpack(v[j], e);
#pragma unroll
      for (unsigned n = 0; n < N; n++) f(e[n], i + n);
    }
  }
  const unsigned tail = start + N * vectors;
  if (lane < b - tail) f(to_float(x[tail + lane]), tail + lane);
}

// Loads in flight per lane for a block of B threads: wide blocks (a row per multiprocessor) 2 —
// H200, 128 × 151936: plain 61 → 58 µs, top-k 98 → 83, min-p 82 → 69, top-k+top-p 108 → 96;
// 4 was within 5% of 2 and spills more — narrow ones 1 (six share a multiprocessor and
// overlap their loads; their registers are at the launch bound's limit).
template <int B>
struct LoadsInFlight {
  static constexpr unsigned value = B >= 1024 ? 2u : 1u;
};

template <typename T, typename Op>
__device__ __forceinline__ T warp_reduce(T value, Op op) {
#pragma unroll
  for (int offset = RF_WARP_SIZE / 2; offset > 0; offset /= 2) value = op(value, rf_shfl_down(value, offset));
  return rf_shfl(value, 0);
}

// The first element of x[a, b) in index order at which the running weight, starting from
// `running`, exceeds `target` — weights from `weight(value, index)`, zero meaning not kept. One
// warp walks; every lane gets the answer. -1 when rounding leaves no such element; `lastKept`
// then holds the last element with a positive weight (-1 if none).
template <typename T, typename Weight>
__device__ int warp_walk(const T* x, unsigned a, unsigned b, const Weight& weight, double running, double target,
                         int* lastKept) {
  constexpr unsigned ITEMS = 4;
  constexpr unsigned TILE = RF_WARP_SIZE * ITEMS;
  const unsigned lane = threadIdx.x % RF_WARP_SIZE;
  int last = -1;
  for (unsigned base = a; base < b; base += TILE) {
    float w[ITEMS];
    double local = 0.0;
#pragma unroll
    for (unsigned j = 0; j < ITEMS; j++) {
      const unsigned i = base + lane * ITEMS + j;
      w[j] = i < b ? weight(to_float(x[i]), i) : 0.0f;
      local += w[j];
      if (w[j] > 0.0f) last = static_cast<int>(i);
    }
    double inclusive = local;
#pragma unroll
    for (int offset = 1; offset < RF_WARP_SIZE; offset *= 2) {
      const double other = rf_shfl_up(inclusive, offset);
      if (static_cast<int>(lane) >= offset) inclusive += other;
    }
    const double tileTotal = rf_shfl(inclusive, RF_WARP_SIZE - 1);
    if (running + tileTotal > target) {
      double acc = running + inclusive - local;
      int mine = 0x7fffffff;
#pragma unroll
      for (unsigned j = 0; j < ITEMS; j++) {
        acc += w[j];
        if (mine == 0x7fffffff && w[j] > 0.0f && acc > target) mine = static_cast<int>(base + lane * ITEMS + j);
      }
      mine = warp_reduce(mine, MinOp());
      if (mine != 0x7fffffff) return mine;
    }
    running += tileTotal;
  }
  *lastKept = warp_reduce(last, MaxOp());
  return -1;
}

// The same with the whole block, faster than one warp when there are few draws: each thread sums
// a few consecutive elements, a block scan places them, and the thread holding the crossing finds
// it; when rounding leaves the target past them, the last element of positive weight (-1 if
// none). `s` holds the block's reduction scratch (doubles, ints).
template <int B, typename T, typename Weight, typename Scratch>
__device__ int block_walk(const T* x, unsigned a, unsigned b, const Weight& weight, double running, double target,
                          Scratch& s) {
  const unsigned per = (b - a + B - 1) / B;
  const unsigned first = min(b, a + threadIdx.x * per);
  const unsigned last = min(b, first + per);
  double local = 0.0;
  int lastKept = -1;
  for (unsigned i = first; i < last; i++) {
    const float w = weight(to_float(x[i]), i);
    local += w;
    if (w > 0.0f) lastKept = static_cast<int>(i);
  }
  double total;
  const double before = block_exclusive_sum<B>(local, &total, s.doubles);
  int mine = 0x7fffffff;
  if (running + before + local > target) {
    double acc = running + before;
    for (unsigned i = first; i < last; i++) {
      const float w = weight(to_float(x[i]), i);
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
