import Table from 'cli-table3';

/** A table for the terminal: coloured borders on a TTY, plain text when piped. */
export function table(head: string[]): InstanceType<typeof Table> {
  const plain = !process.stdout.isTTY;
  return new Table({ head, ...(plain ? { style: { head: [], border: [] } } : {}) });
}
