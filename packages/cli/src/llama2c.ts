import { InputFileError } from './errors.js';
import { type GgufTensor, type GgufValue, writeGguf } from './gguf.js';
import { readBytes } from './input-file.js';

/** Options of {@link convertLlama2c}. */
export interface ConvertOptions {
  /** `general.name` in the GGUF file. */
  name?: string;
  /** How the matrices are stored: float32 (default) or float16; norms stay float32. */
  type?: 'f32' | 'f16';
}

/**
 * Converts a llama2.c checkpoint (7-int32 header, then float32 weights) and its tokenizer into
 * a GGUF file that llama.cpp (and so node-llama-cpp) runs. The tokenizer is either llama2.c's
 * own (`tokenizer.bin`: max token length, then per token f32 score, i32 length, bytes; written
 * as a SentencePiece vocabulary) or a Hugging Face `tokenizer.json` holding a byte-level BPE
 * (written as GPT-2's BPE, with its merges). llama2.c keeps Meta's interleaved RoPE layout,
 * which is what GGUF stores: the weights are copied, not permuted. A shared classifier is not
 * written twice: llama.cpp reads `token_embd` when `output` is absent.
 */
export function convertLlama2c(
  modelPath: string,
  tokenizerPath: string,
  options: ConvertOptions = {},
): Buffer {
  const { name = 'llama2.c model', type = 'f32' } = options;
  const model = readBytes(modelPath);
  if (model.length < 28) throw new InputFileError(modelPath, 'truncated: no llama2.c header');
  const header = Array.from({ length: 7 }, (_, i) => model.readInt32LE(i * 4));
  const [dim, hidden, layers, heads, kvHeads, signedVocab, context] = header as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (
    ![dim, hidden, layers, heads, kvHeads, context].every((v) => v > 0) ||
    signedVocab === 0 ||
    dim % heads !== 0
  ) {
    throw new InputFileError(modelPath, `not a llama2.c checkpoint (header ${header.join(', ')})`);
  }
  const vocab = Math.abs(signedVocab);
  const headDim = dim / heads;
  const kvDim = kvHeads * headDim;
  const counts = [
    vocab * dim,
    layers * dim,
    layers * dim * dim,
    layers * dim * kvDim,
    layers * dim * kvDim,
    layers * dim * dim,
    layers * dim,
    layers * dim * hidden,
    layers * hidden * dim,
    layers * dim * hidden,
    dim,
    (context * headDim) / 2,
    (context * headDim) / 2,
    signedVocab > 0 ? 0 : vocab * dim,
  ];
  const needed = 28 + counts.reduce((a, b) => a + b, 0) * 4;
  if (model.length < needed)
    throw new InputFileError(modelPath, `truncated: ${model.length} bytes of ${needed}`);
  const floats = new Float32Array(model.buffer.slice(model.byteOffset + 28, model.byteOffset + needed));
  let at = 0;
  const take = (n: number) => {
    const t = floats.subarray(at, at + n);
    at += n;
    return t;
  };
  const [emb, attNorm, wq, wk, wv, wo, ffnNorm, w1, w2, w3, finalNorm, , , wcls] = counts.map(
    take,
  ) as Float32Array[];
  const tensors: GgufTensor[] = [];
  // Matrices in the chosen type; vectors (the norms) in float32, as llama.cpp expects.
  const add = (name: string, dims: number[], data: Float32Array) =>
    tensors.push({ name, dims, data, type: dims.length > 1 ? type : 'f32' });
  const slice = (t: Float32Array, l: number, n: number) => t.subarray(l * n, (l + 1) * n);
  add('token_embd.weight', [dim, vocab], emb!);
  for (let l = 0; l < layers; l++) {
    add(`blk.${l}.attn_norm.weight`, [dim], slice(attNorm!, l, dim));
    add(`blk.${l}.attn_q.weight`, [dim, dim], slice(wq!, l, dim * dim));
    add(`blk.${l}.attn_k.weight`, [dim, kvDim], slice(wk!, l, dim * kvDim));
    add(`blk.${l}.attn_v.weight`, [dim, kvDim], slice(wv!, l, dim * kvDim));
    add(`blk.${l}.attn_output.weight`, [dim, dim], slice(wo!, l, dim * dim));
    add(`blk.${l}.ffn_norm.weight`, [dim], slice(ffnNorm!, l, dim));
    add(`blk.${l}.ffn_gate.weight`, [dim, hidden], slice(w1!, l, dim * hidden));
    add(`blk.${l}.ffn_down.weight`, [hidden, dim], slice(w2!, l, hidden * dim));
    add(`blk.${l}.ffn_up.weight`, [dim, hidden], slice(w3!, l, dim * hidden));
  }
  add('output_norm.weight', [dim], finalNorm!);
  if (signedVocab < 0) add('output.weight', [dim, vocab], wcls!);

  const tokenizer = tokenizerPath.endsWith('.json')
    ? readBpeTokenizer(tokenizerPath, vocab)
    : readTokenizer(tokenizerPath, vocab);
  const metadata: Array<[string, GgufValue]> = [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: name }],
    // llama.cpp's file types: 0 all float32, 1 mostly float16.
    ['general.file_type', { type: 'u32', value: type === 'f16' ? 1 : 0 }],
    ['llama.context_length', { type: 'u32', value: context }],
    ['llama.embedding_length', { type: 'u32', value: dim }],
    ['llama.block_count', { type: 'u32', value: layers }],
    ['llama.feed_forward_length', { type: 'u32', value: hidden }],
    ['llama.attention.head_count', { type: 'u32', value: heads }],
    ['llama.attention.head_count_kv', { type: 'u32', value: kvHeads }],
    ['llama.rope.dimension_count', { type: 'u32', value: headDim }],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'f32', value: 1e-5 }],
    ...tokenizer,
  ];
  return writeGguf(metadata, tensors);
}

type TokenizerMetadata = Array<[string, GgufValue]>;

/** llama2.c's tokenizer, mapped to GGUF's SentencePiece conventions (▁ for spaces, token types). */
function readTokenizer(path: string, vocab: number): TokenizerMetadata {
  const bytes = readBytes(path);
  const tokens: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  let p = 4;
  for (let i = 0; i < vocab; i++) {
    if (p + 8 > bytes.length) throw new InputFileError(path, `truncated: ${i} of ${vocab} tokens`);
    const score = bytes.readFloatLE(p);
    const length = bytes.readInt32LE(p + 4);
    p += 8;
    if (length < 0 || p + length > bytes.length)
      throw new InputFileError(path, `truncated or corrupt at token ${i}`);
    let text = bytes.toString('utf8', p, p + length);
    p += length;
    // SentencePiece types: 1 normal, 2 unknown, 3 control, 6 byte.
    let type = 1;
    if (i === 0) [text, type] = ['<unk>', 2];
    else if (i === 1) [text, type] = ['<s>', 3];
    else if (i === 2) [text, type] = ['</s>', 3];
    else if (/^<0x[0-9A-F]{2}>$/.test(text)) type = 6;
    else text = text.replace(/ /g, '\u2581');
    tokens.push(text);
    scores.push(score);
    types.push(type);
  }
  return [
    ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'string[]', value: tokens }],
    ['tokenizer.ggml.scores', { type: 'f32[]', value: scores }],
    ['tokenizer.ggml.token_type', { type: 'i32[]', value: types }],
    ['tokenizer.ggml.bos_token_id', { type: 'u32', value: 1 }],
    ['tokenizer.ggml.eos_token_id', { type: 'u32', value: 2 }],
    ['tokenizer.ggml.unknown_token_id', { type: 'u32', value: 0 }],
  ];
}

interface HfTokenizer {
  model?: { type?: string; vocab?: Record<string, number>; merges?: Array<string | [string, string]> };
  pre_tokenizer?: { type?: string } | null;
  added_tokens?: Array<{ id: number; content: string; special?: boolean }>;
}

/**
 * A Hugging Face `tokenizer.json` with a byte-level BPE model, as GGUF's GPT-2 BPE: tokens by
 * id in their byte-level spelling, merges as "left right", special tokens as control tokens.
 * The first special token is both beginning and end of sequence (GPT-2's `<|endoftext|>`).
 */
function readBpeTokenizer(path: string, vocab: number): TokenizerMetadata {
  let json: HfTokenizer;
  try {
    json = JSON.parse(readBytes(path).toString('utf8')) as HfTokenizer;
  } catch (error) {
    if (error instanceof InputFileError) throw error;
    throw new InputFileError(path, `not JSON (${(error as Error).message})`);
  }
  const model = json.model;
  if (model?.type !== 'BPE' || !model.vocab || !model.merges || json.pre_tokenizer?.type !== 'ByteLevel')
    throw new InputFileError(
      path,
      'not a byte-level BPE tokenizer.json (model BPE, pre-tokenizer ByteLevel)',
    );
  const tokens: string[] = new Array(vocab);
  const types: number[] = new Array(vocab).fill(1); // 1 normal, 3 control
  for (const [text, id] of Object.entries(model.vocab)) {
    if (!(Number.isInteger(id) && id >= 0 && id < vocab))
      throw new InputFileError(
        path,
        `token ${JSON.stringify(text)} has id ${id}, outside the model's vocabulary of ${vocab}`,
      );
    tokens[id] = text;
  }
  const specials = (json.added_tokens ?? []).filter((t) => t.special);
  for (const t of specials) {
    tokens[t.id] = t.content;
    types[t.id] = 3;
  }
  const missing = Array.from(tokens, (t) => t === undefined).indexOf(true);
  if (missing >= 0) throw new InputFileError(path, `has no token for id ${missing} of the model's ${vocab}`);
  const merges = model.merges.map((m) => (typeof m === 'string' ? m : m.join(' ')));
  const eos = specials[0]?.id;
  if (eos === undefined) throw new InputFileError(path, 'has no special token to end a sequence');
  return [
    ['tokenizer.ggml.model', { type: 'string', value: 'gpt2' }],
    ['tokenizer.ggml.pre', { type: 'string', value: 'gpt-2' }],
    ['tokenizer.ggml.tokens', { type: 'string[]', value: tokens }],
    ['tokenizer.ggml.token_type', { type: 'i32[]', value: types }],
    ['tokenizer.ggml.merges', { type: 'string[]', value: merges }],
    ['tokenizer.ggml.bos_token_id', { type: 'u32', value: eos }],
    ['tokenizer.ggml.eos_token_id', { type: 'u32', value: eos }],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: false }],
  ];
}
