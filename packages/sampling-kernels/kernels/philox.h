// Philox4x32-10 (Random123) and rocmforge's 53-bit uniform: bit-identical to the CPU
// sampler's packages/sampler/src/philox.ts. Counter = (draw, stream, step lo, step hi),
// key = (seed lo, seed hi).
#pragma once
#include "portability.h"

struct Philox4 {
  unsigned x[4];
};

__device__ __forceinline__ Philox4 rf_philox4x32_10(unsigned c0, unsigned c1, unsigned c2, unsigned c3, unsigned k0,
                                                     unsigned k1) {
  unsigned x0 = c0, x1 = c1, x2 = c2, x3 = c3;
#pragma unroll
  for (int round = 0; round < 10; round++) {
    const unsigned lo0 = 0xD2511F53u * x0;
    const unsigned hi0 = __umulhi(0xD2511F53u, x0);
    const unsigned lo1 = 0xCD9E8D57u * x2;
    const unsigned hi1 = __umulhi(0xCD9E8D57u, x2);
    x0 = hi1 ^ x1 ^ k0;
    x1 = lo1;
    x2 = hi0 ^ x3 ^ k1;
    x3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  Philox4 out = {{x0, x1, x2, x3}};
  return out;
}

__device__ __forceinline__ double rf_uniform53(unsigned seedLo, unsigned seedHi, unsigned stepLo, unsigned stepHi,
                                               unsigned stream, unsigned draw) {
  const Philox4 r = rf_philox4x32_10(draw, stream, stepLo, stepHi, seedLo, seedHi);
  const unsigned long long bits = (static_cast<unsigned long long>(r.x[0] >> 5) << 26) | (r.x[1] >> 6);
  return static_cast<double>(bits) * (1.0 / 9007199254740992.0);
}
