/** Exit codes scripts can rely on. */
export const EXIT = {
  /** Success. */
  ok: 0,
  /** A runtime error: a file that cannot be used, a GPU that failed, the engine missing. */
  runtime: 1,
  /** A usage error: a bad flag or parameter value. */
  usage: 2,
} as const;

/** An error the CLI reports as one line, with the exit code it maps to. */
export class CliError extends Error {
  /** The process exit code for this error (see {@link EXIT}). */
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.runtime, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** A logits file that cannot be used: names the file and the problem. */
export class InputFileError extends CliError {
  /** The file named in the message. */
  readonly file: string;
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`, EXIT.runtime);
    this.name = 'InputFileError';
    this.file = file;
  }

  /** The file could not be opened or read: the system's code (`ENOENT`, …) or message. */
  static unreadable(file: string, error: unknown): InputFileError {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return new InputFileError(file, `cannot be read (${reason})`);
  }
}
