/** A CLI failure: printed as one line, exit code 1 (usage errors exit 2). */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}
