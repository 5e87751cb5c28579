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

/**
 * A file that cannot be used: names the file and the problem. A runtime error (exit 1) when
 * the file is at fault; a usage error (exit 2) when the command line is (a directory given as
 * the file, a flag the file needs missing), and the message then says what to give.
 */
export class InputFileError extends CliError {
  /** The file named in the message. */
  readonly file: string;
  constructor(file: string, problem: string, exitCode: number = EXIT.runtime) {
    super(`${file}: ${problem}`, exitCode);
    this.name = 'InputFileError';
    this.file = file;
  }

  /** A directory where a file is expected: a usage error. */
  static directory(file: string): InputFileError {
    return new InputFileError(file, 'is a directory; give a file', EXIT.usage);
  }

  /** The file could not be opened or read: the system's code (`ENOENT`, …) or message. */
  static unreadable(file: string, error: unknown): InputFileError {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return new InputFileError(file, `cannot be read (${reason})`);
  }
}
