/** A failure the CLI reports as one line on stderr, with its exit code (2: bad usage). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** Wrong command line: exit code 2, like most Unix tools. */
export const usageError = (message: string) => new CliError(message, 2);
