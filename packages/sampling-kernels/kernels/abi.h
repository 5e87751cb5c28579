// The contract between the host and the kernels, stated once: what the numbers the host passes
// mean (input kinds, filter order, log-probability modes), what the kernels write back (row
// status, row statistics), the sizes the host allocates for them, and each kernel's parameters
// as one struct passed by value. src/abi.ts mirrors this file and test/abi.test.ts parses it:
// a name, value, field order or field type that differs fails the test, and the test also
// compiles this file with the host's C++ compiler to compare every field offset with the
// arguments the launchers pack.
//
// Plain C++ (no device code, no includes), in the shapes the test reads: `enum RfName : unsigned
// { RF_NAME_VALUE = n, ... };`, `constexpr unsigned RF_NAME = n;` and `struct RfNameParams {
// type field; ... };`. An enum RfFooBar is FOO_BAR in TypeScript, its RF_FOO_BAR_SOME_VALUE is
// FOO_BAR.someValue; a constant RF_NAME is NAME.
#pragma once

// What the input rows hold.
enum RfInputKind : unsigned {
  RF_INPUT_KIND_LOGITS = 0,
  RF_INPUT_KIND_PROBS = 1,
};

// The element type of input rows. Each kernel that reads input rows has one entry point per
// type: the float32 one by its plain name, the others with the type's suffix (rf_sample_f16,
// rf_sample_bf16, rf_sample_narrow_f16, …); its parameter struct is the same, `input` /
// `values` pointing at elements of that type.
enum RfElementType : unsigned {
  RF_ELEMENT_TYPE_FLOAT32 = 0,   // suffix none; 4 bytes
  RF_ELEMENT_TYPE_FLOAT16 = 1,   // suffix _f16; IEEE binary16, 2 bytes
  RF_ELEMENT_TYPE_BFLOAT16 = 2,  // suffix _bf16; the top 16 bits of a float32, 2 bytes
};

// How top-k and top-p combine: top-p over the renormalised top-k set, or both over the row.
enum RfFilterOrder : unsigned {
  RF_FILTER_ORDER_TOP_K_FIRST = 0,
  RF_FILTER_ORDER_JOINT = 1,
};

// Which distribution the log-probability kernels describe: the input's own (raw), or the one
// rf_sample drew from (processed: temperature and filters applied, from the row statistics).
enum RfLogprobsMode : unsigned {
  RF_LOGPROBS_MODE_RAW = 0,
  RF_LOGPROBS_MODE_PROCESSED = 1,
};

// valid[row], one byte per row: what rf_sample did with the row.
enum RfRowStatus : unsigned {
  RF_ROW_STATUS_NOTHING_TO_SAMPLE = 0,  // every logit -Infinity, or every probability 0
  RF_ROW_STATUS_SAMPLED = 1,
  RF_ROW_STATUS_INVALID_VALUES = 2,        // NaN; negative, NaN or infinite probabilities
  RF_ROW_STATUS_BLOCKS_COULD_NOT_MEET = 3,  // the blocks of a split row were not all resident:
                                            // not sampled, and the split scratch must be zeroed
};

// rowStats[row * RF_ROW_STATS + i], floats: what rf_sample leaves for the log-probability
// kernels to describe the distribution it drew from.
enum RfRowStat : unsigned {
  RF_ROW_STAT_WEIGHT_MODE = 0,          // the row's WeightMode (sampling.hip)
  RF_ROW_STAT_MAX = 1,                  // the row's largest value
  RF_ROW_STAT_INVERSE_TEMPERATURE = 2,  // 1 / T (0 for greedy rows)
  RF_ROW_STAT_KEPT_TOTAL = 3,           // total weight of the kept tokens
  RF_ROW_STAT_THRESHOLD = 4,            // values below it were filtered out (top-k, top-p)
  RF_ROW_STAT_MIN_WEIGHT = 5,           // weights below it were filtered out (min-p)
};
constexpr unsigned RF_ROW_STATS = 6;  // floats per row

// Most blocks one row is split over.
constexpr unsigned RF_MAX_ROW_PARTS = 256;
// Bytes of split-row scratch per row: sizeof(RowScratch), which row_split.h asserts.
constexpr unsigned RF_SPLIT_SCRATCH_BYTES = 113688;
// Largest n of rf_top_logprobs.
constexpr unsigned RF_MAX_TOP_LOGPROBS = 1024;

// The fields the two sampling structs (RfSampleParams, RfChainParams) begin with, stated once:
// the rows and what they hold, rf_sample's filters, the Philox key and counter. Per-row arrays
// hold one element per row. (Block comments only: a line comment would swallow the macro's
// line continuation.)
#define RF_ROW_REQUEST_FIELDS                                                                   \
  const void* input;         /* [batch, vocab] logits or probabilities, of the entry point's */ \
                             /* element type */                                                \
  unsigned vocab;            /* elements per row */                                            \
  RfInputKind kind;          /* what `input` holds */                                          \
  const float* temperature;  /* per row */                                                     \
  const int* topK;           /* per row, 0 = off */                                            \
  const float* topP;         /* per row, 1 = off */                                            \
  const float* minP;         /* per row, 0 = off */                                            \
  const unsigned* seedLo;    /* per row: Philox key */                                         \
  const unsigned* seedHi;                                                                       \
  const unsigned* stepLo;    /* per row: decode step */                                        \
  const unsigned* stepHi;                                                                       \
  const unsigned* stream;    /* per row: Philox stream */                                      \
  RfFilterOrder filterOrder; /* how top-k and top-p combine */
// The draws' outputs, the same in both (after each struct's own filters).
#define RF_DRAW_OUTPUT_FIELDS                                                  \
  unsigned samples;      /* draws per row */                                   \
  int* tokens;           /* out [batch, samples] */                            \
  unsigned char* valid;  /* out [batch]: an RfRowStatus per row */             \
  float* rowStats;       /* out [batch, RF_ROW_STATS], or null */

// rf_sample, rf_sample_narrow and rf_sample_split_narrow: every row of a [batch, vocab] matrix
// sampled in one launch.
struct RfSampleParams {
  RF_ROW_REQUEST_FIELDS
  RF_DRAW_OUTPUT_FIELDS
  unsigned parts;              // blocks per row (1: not split)
  void* scratch;               // batch × RF_SPLIT_SCRATCH_BYTES when parts > 1, else null
  // A launch of one row may carry that row's parameters here, by value, instead of in the
  // per-row arrays above (then null): no copy of parameters ahead of the kernel.
  unsigned oneRow;             // 1: the row's parameters are the fields below
  float oneTemperature;
  int oneTopK;
  float oneTopP;
  float oneMinP;
  unsigned oneSeedLo;
  unsigned oneSeedHi;
  unsigned oneStepLo;
  unsigned oneStepHi;
  unsigned oneStream;
};

// rf_softmax: probs = softmax(logits / T) per row.
struct RfSoftmaxParams {
  const float* logits;       // [batch, vocab]
  float* probs;              // out [batch, vocab]
  unsigned vocab;            // elements per row
  const float* temperature;  // per row
};

// rf_prefix_sum: inclusive prefix sums of each row.
struct RfPrefixSumParams {
  const float* input;  // [batch, vocab]
  float* output;       // out [batch, vocab]
  unsigned vocab;      // elements per row
};

// rf_philox: the raw Philox4x32-10 words of draws draw0 … draw0 + count - 1 of each row.
struct RfPhiloxParams {
  unsigned* out;            // out [batch, count, 4]
  const unsigned* seedLo;   // per row: Philox key
  const unsigned* seedHi;   //
  const unsigned* stepLo;   // per row: decode step
  const unsigned* stepHi;   //
  const unsigned* stream;   // per row: Philox stream
  unsigned draw0;           // first draw
  unsigned count;           // draws per row
};

// rf_uniform: the 53-bit uniforms the sampler draws, as doubles.
struct RfUniformParams {
  double* out;              // out [batch, count]
  const unsigned* seedLo;   // per row: Philox key
  const unsigned* seedHi;   //
  const unsigned* stepLo;   // per row: decode step
  const unsigned* stepHi;   //
  const unsigned* stream;   // per row: Philox stream
  unsigned count;           // draws per row
};

// rf_adjust_logits: logit bias and penalties, in place, from per-row entries (one per distinct
// token touched) listed at entries [offsets[row], offsets[row + 1]).
struct RfAdjustLogitsParams {
  float* logits;                     // [batch, vocab], adjusted in place
  unsigned vocab;                    // elements per row
  const unsigned* offsets;           // [batch + 1]: each row's first entry, then the entry count
  const int* entryToken;             // per entry: the token
  const float* entryBias;            // per entry: added to its logit
  const unsigned* entryPromptSeen;   // per entry: 1 when the token is in the prompt
  const unsigned* entryOutputCount;  // per entry: occurrences in the output
  const float* repetition;           // per row: repetition penalty, 1 = off
  const float* frequency;            // per row: frequency penalty, 0 = off
  const float* presence;             // per row: presence penalty, 0 = off
};

// rf_token_logprobs: the log-probability of each sampled token.
struct RfTokenLogprobsParams {
  const void* values;      // [batch, vocab]: the inputs (raw) or the adjusted logits (processed), of the entry point's element type
  unsigned vocab;          // elements per row
  RfInputKind kind;        // what `values` holds
  const int* tokens;       // [batch, samples]: the sampled tokens
  unsigned samples;        // draws per row
  const float* rowStats;   // [batch, RF_ROW_STATS] from rf_sample
  RfLogprobsMode mode;     // raw or processed
  float* out;              // out [batch, samples]
};

// rf_top_logprobs: the n most probable tokens of each row with their log-probabilities.
struct RfTopLogprobsParams {
  const void* values;         // [batch, vocab]: as for rf_token_logprobs
  unsigned vocab;             // elements per row
  RfInputKind kind;           // what `values` holds
  unsigned n;                 // tokens per row, at most RF_MAX_TOP_LOGPROBS
  const float* rowStats;      // [batch, RF_ROW_STATS] from rf_sample
  const int* tokens;          // [batch, samples]: sampled; the first of a greedy row is its argmax
  unsigned samples;           // draws per row
  RfLogprobsMode mode;        // raw or processed
  int* outTokens;             // out [batch, n]
  float* outLogprobs;         // out [batch, n]
  const unsigned char* valid; // [batch]: rf_sample's RfRowStatus per row
};

// rf_widen_f16, rf_widen_bf16: float32 copies of half rows.
struct RfWidenParams {
  const void* input;  // [batch, vocab] of the entry point's element type
  float* output;      // out [batch, vocab]
  unsigned vocab;     // elements per row
};

// rf_chain (kernels/methods.hip): what it writes to `values` besides the draws.
enum RfChainOutput : unsigned {
  RF_CHAIN_OUTPUT_NONE = 0,         // nothing (values may be null)
  RF_CHAIN_OUTPUT_PROBS = 1,        // the probabilities drawn from, 0 outside the kept set
  RF_CHAIN_OUTPUT_LOGITS = 2,       // x / T (log p / T) of the kept tokens, -Infinity elsewhere
  RF_CHAIN_OUTPUT_KEPT_VALUES = 3,  // the input values of the kept tokens, -Infinity (logits) or
                                    // 0 (probabilities) elsewhere: what the processed
                                    // log-probability kernels read, with rowStats
};

// rf_chain's verdict per target row of a speculative verification: bits.
enum RfVerdict : unsigned {
  RF_VERDICT_ACCEPTED = 1,       // the draft token at this position is accepted
  RF_VERDICT_DRAFT_INVALID = 2,  // the draft probabilities here are not a distribution
};

// rf_chain: the whole filter chain per row (top-n-sigma, top-k, top-p, min-p, typical-p, XTC),
// then the draws, the filtered distribution, or speculative verification. `samples` may be 0
// (no draws); with `draft` > 0, `tokens` is [batch] (see below).
struct RfChainParams {
  RF_ROW_REQUEST_FIELDS
  const float* typicalP;         // per row, 1 = off
  const float* topNSigma;        // per row, 0 = off
  const float* xtcProbability;   // per row, 0 = off
  const float* xtcThreshold;     // per row
  RF_DRAW_OUTPUT_FIELDS
  RfChainOutput output;          // what `values` gets
  float* values;                 // out [batch, vocab], or null when output is NONE
  unsigned draft;                // speculative verification: n draft tokens per verified row, whose
                                 // n + 1 target positions are consecutive rows; 0 = off
  unsigned firstRow;             // this launch's first row within the whole target batch
  const int* draftTokens;        // [verified rows, n]
  const float* draftProbs;       // [verified rows, n, vocab]
  unsigned char* verdicts;       // out [batch]: RfVerdict bits per target row
};
