/**
 * The one error type of the data layer. Every failure caused by a dataset's bytes (wrong size, truncated
 * file, wrong magic number, undecodable image, corrupt archive, checksum mismatch) is reported as a
 * `DatasetError` whose message names the file and, where it applies, the expected and the actual value.
 */
export class DatasetError extends Error {
  /** Always "DatasetError". */
  override readonly name = 'DatasetError';
  /** The file (path or name) the error is about, when there is one. */
  readonly file: string | undefined;

  constructor(message: string, options: { file?: string; cause?: unknown } = {}) {
    super(options.file === undefined ? message : `${options.file}: ${message}`, { cause: options.cause });
    this.file = options.file;
  }
}

/** A `DatasetError` for a size mismatch: "<file>: <what> is <actual>, expected <expected>". */
export function sizeMismatch(file: string, what: string, expected: string | number, actual: string | number): DatasetError {
  return new DatasetError(`${what} is ${actual}, expected ${expected}`, { file });
}

/** Message of any thrown value, for wrapping third-party errors. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
