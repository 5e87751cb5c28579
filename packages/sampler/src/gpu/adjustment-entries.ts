import type { RowAdjustmentEntries, TokenAdjustment } from '@rocmforge/sampling-kernels';
import type { RowAdjustments } from '../request.js';

/**
 * Rows [first, first + rows) of `adjustments` as the adjustment kernel takes them: per row, each
 * distinct token touched with its summed bias, whether the prompt has it and its count in the
 * output, and the row's penalties.
 */
export function adjustmentEntries(
  adjustments: RowAdjustments,
  first: number,
  rows: number,
): RowAdjustmentEntries[] {
  const out: RowAdjustmentEntries[] = [];
  for (let row = first; row < first + rows; row++) {
    const tokens = new Map<number, TokenAdjustment>();
    const entry = (token: number) => {
      let e = tokens.get(token);
      if (!e) {
        e = { bias: 0, promptSeen: false, outputCount: 0 };
        tokens.set(token, e);
      }
      return e;
    };
    for (const [token, value] of adjustments.bias[row] ?? []) entry(token).bias += value;
    const prompt = adjustments.promptTokens[row];
    if (prompt) for (let j = 0; j < prompt.length; j++) entry(prompt[j]!).promptSeen = true;
    const output = adjustments.outputTokens[row];
    if (output) for (let j = 0; j < output.length; j++) entry(output[j]!).outputCount++;
    out.push({
      tokens,
      repetition: adjustments.repetitionPenalty[row]!,
      frequency: adjustments.frequencyPenalty[row]!,
      presence: adjustments.presencePenalty[row]!,
    });
  }
  return out;
}
