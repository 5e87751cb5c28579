import { readFileSync } from 'node:fs';
import { InputFileError } from './errors.js';
import { type GgufTensor, type GgufValue, writeGguf } from './gguf.js';

/**
 * Converts a llama2.c checkpoint (7-int32 header, then float32 weights) and its tokenizer
 * (max token length, then per token: f32 score, i32 length, bytes) into a GGUF file that
 * llama.cpp (and so node-llama-cpp) runs. llama2.c keeps Meta's interleaved RoPE layout, which
 * is what GGUF stores: the weights are copied, not permuted.
 */
export function convertLlama2c(modelPath: string, tokenizerPath: string, name = 'llama2.c model'): Buffer {
  const model = readFile(modelPath);
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
  const tensors: GgufTensor[] = [{ name: 'token_embd.weight', dims: [dim, vocab], data: emb! }];
  const slice = (t: Float32Array, l: number, n: number) => t.subarray(l * n, (l + 1) * n);
  for (let l = 0; l < layers; l++) {
    tensors.push(
      { name: `blk.${l}.attn_norm.weight`, dims: [dim], data: slice(attNorm!, l, dim) },
      { name: `blk.${l}.attn_q.weight`, dims: [dim, dim], data: slice(wq!, l, dim * dim) },
      { name: `blk.${l}.attn_k.weight`, dims: [dim, kvDim], data: slice(wk!, l, dim * kvDim) },
      { name: `blk.${l}.attn_v.weight`, dims: [dim, kvDim], data: slice(wv!, l, dim * kvDim) },
      { name: `blk.${l}.attn_output.weight`, dims: [dim, dim], data: slice(wo!, l, dim * dim) },
      { name: `blk.${l}.ffn_norm.weight`, dims: [dim], data: slice(ffnNorm!, l, dim) },
      { name: `blk.${l}.ffn_gate.weight`, dims: [dim, hidden], data: slice(w1!, l, dim * hidden) },
      { name: `blk.${l}.ffn_down.weight`, dims: [hidden, dim], data: slice(w2!, l, hidden * dim) },
      { name: `blk.${l}.ffn_up.weight`, dims: [dim, hidden], data: slice(w3!, l, dim * hidden) },
    );
  }
  tensors.push(
    { name: 'output_norm.weight', dims: [dim], data: finalNorm! },
    { name: 'output.weight', dims: [dim, vocab], data: signedVocab > 0 ? emb! : wcls! },
  );

  const tokenizer = readTokenizer(tokenizerPath, vocab);
  const metadata: Array<[string, GgufValue]> = [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: name }],
    ['general.file_type', { type: 'u32', value: 0 }],
    ['llama.context_length', { type: 'u32', value: context }],
    ['llama.embedding_length', { type: 'u32', value: dim }],
    ['llama.block_count', { type: 'u32', value: layers }],
    ['llama.feed_forward_length', { type: 'u32', value: hidden }],
    ['llama.attention.head_count', { type: 'u32', value: heads }],
    ['llama.attention.head_count_kv', { type: 'u32', value: kvHeads }],
    ['llama.rope.dimension_count', { type: 'u32', value: headDim }],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'f32', value: 1e-5 }],
    ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'string[]', value: tokenizer.tokens }],
    ['tokenizer.ggml.scores', { type: 'f32[]', value: tokenizer.scores }],
    ['tokenizer.ggml.token_type', { type: 'i32[]', value: tokenizer.types }],
    ['tokenizer.ggml.bos_token_id', { type: 'u32', value: 1 }],
    ['tokenizer.ggml.eos_token_id', { type: 'u32', value: 2 }],
    ['tokenizer.ggml.unknown_token_id', { type: 'u32', value: 0 }],
  ];
  return writeGguf(metadata, tensors);
}

/** llama2.c's tokenizer, mapped to GGUF's SentencePiece conventions (▁ for spaces, token types). */
function readTokenizer(path: string, vocab: number): { tokens: string[]; scores: number[]; types: number[] } {
  const bytes = readFile(path);
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
  return { tokens, scores, types };
}

function readFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new InputFileError(
      path,
      `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
}
