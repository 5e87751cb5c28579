import { type DeviceRegion, subRegion } from './device-region.js';

/** How one token of a row is adjusted. */
export interface TokenAdjustment {
  /** Added to the token's logit first. */
  bias: number;
  /** Whether the token is in the row's prompt (for the repetition penalty). */
  promptSeen: boolean;
  /** Occurrences of the token in the row's output so far (for every penalty). */
  outputCount: number;
}

/** One row's logit adjustments: each distinct token touched, and the row's penalties. */
export interface RowAdjustmentEntries {
  /** Token id → its adjustment. */
  tokens: ReadonlyMap<number, TokenAdjustment>;
  /** Repetition penalty (1 = off). */
  repetition: number;
  /** Frequency penalty (0 = off). */
  frequency: number;
  /** Presence penalty (0 = off). */
  presence: number;
}

/** The array fields of `RfAdjustLogitsParams`: what an {@link AdjustmentTable} holds. */
export type AdjustmentTableField =
  | 'offsets'
  | 'entryToken'
  | 'entryBias'
  | 'entryPromptSeen'
  | 'entryOutputCount'
  | 'repetition'
  | 'frequency'
  | 'presence';

/**
 * The entries of `rf_adjust_logits` for a batch, laid out in one host block that one copy takes
 * to the device: the rows' entry offsets, then per entry its token, bias, prompt flag and output
 * count, then per row the three penalties.
 *
 * @example
 * ```ts
 * import { AdjustmentTable } from '@rocmforge/sampling-kernels';
 * const table = new AdjustmentTable([
 *   { tokens: new Map([[7, { bias: 2, promptSeen: false, outputCount: 1 }]]), repetition: 1, frequency: 0.5, presence: 0 },
 * ]);
 * console.log(table.rows, table.entries); // 1 1
 * ```
 */
export class AdjustmentTable {
  /** The block to copy to the device. */
  readonly bytes: Uint8Array;
  /** Rows. */
  readonly rows: number;
  /** Entries of all rows. */
  readonly entries: number;
  readonly #at: Record<AdjustmentTableField, [offset: number, bytes: number]>;

  constructor(rows: readonly RowAdjustmentEntries[]) {
    const batch = rows.length;
    let entries = 0;
    for (const row of rows) entries += row.tokens.size;
    this.rows = batch;
    this.entries = entries;
    // At least one entry slot, so that every array has an address inside the block.
    const slots = Math.max(entries, 1);
    const first = (batch + 1) * 4;
    const penalties = first + slots * 16;
    this.#at = {
      offsets: [0, (batch + 1) * 4],
      entryToken: [first, slots * 4],
      entryBias: [first + slots * 4, slots * 4],
      entryPromptSeen: [first + slots * 8, slots * 4],
      entryOutputCount: [first + slots * 12, slots * 4],
      repetition: [penalties, batch * 4],
      frequency: [penalties + batch * 4, batch * 4],
      presence: [penalties + 2 * batch * 4, batch * 4],
    };
    const block = new ArrayBuffer(penalties + 3 * batch * 4);
    this.bytes = new Uint8Array(block);
    const view = <T>(field: AdjustmentTableField, Type: new (b: ArrayBuffer, at: number, n: number) => T) =>
      new Type(block, this.#at[field][0], this.#at[field][1] / 4);
    const offsets = view('offsets', Uint32Array);
    const token = view('entryToken', Int32Array);
    const bias = view('entryBias', Float32Array);
    const seen = view('entryPromptSeen', Uint32Array);
    const outputCount = view('entryOutputCount', Uint32Array);
    const repetition = view('repetition', Float32Array);
    const frequency = view('frequency', Float32Array);
    const presence = view('presence', Float32Array);
    let e = 0;
    rows.forEach((row, r) => {
      offsets[r] = e;
      repetition[r] = row.repetition;
      frequency[r] = row.frequency;
      presence[r] = row.presence;
      for (const [t, adjustment] of row.tokens) {
        token[e] = t;
        bias[e] = adjustment.bias;
        seen[e] = adjustment.promptSeen ? 1 : 0;
        outputCount[e] = adjustment.outputCount;
        e++;
      }
    });
    offsets[batch] = e;
  }

  /** The table's arrays in `buffer`, a device copy of {@link bytes}, by their `RfAdjustLogitsParams` field names. */
  regions(buffer: DeviceRegion): Record<AdjustmentTableField, DeviceRegion> {
    const regions = {} as Record<AdjustmentTableField, DeviceRegion>;
    for (const [field, [offset, bytes]] of Object.entries(this.#at) as [
      AdjustmentTableField,
      [number, number],
    ][]) {
      regions[field] = subRegion(buffer, offset, bytes);
    }
    return regions;
  }
}
