/** Exit codes scripts can rely on. */
export const EXIT = { ok: 0, runtime: 1, usage: 2 } as const;

/** An error the CLI reports as one line, with the exit code it maps to. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.runtime, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** A logits file that cannot be used: names the file and the problem. */
export class InputFileError extends CliError {
  readonly file: string;
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`, EXIT.runtime);
    this.name = 'InputFileError';
    this.file = file;
  }
}
