/**
 * A command that cannot do what was asked, for a reason the user can act on: one line on stderr and
 * the named exit code, never a stack trace. Thrown where the reason is known (the API client, a
 * command), printed once by main.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
