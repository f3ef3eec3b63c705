/**
 * Every exit code of the herald command, named. 64 and above are sysexits(3), which service managers
 * and scripts understand; the unit's RestartPreventExitStatus= lists the two that a restart cannot fix.
 */
export const EXIT = {
  ok: 0,
  /** The command ran and the answer is "no": invalid profiles, a device that does not exist. */
  failure: 1,
  /** A bad flag, argument or environment value: fix the command line. */
  usage: 64,
  /** The agent to ask is not running, or a port the agent needs is taken. */
  unavailable: 69,
  /** A fault of Herald itself; a restart may help. */
  software: 70,
  /** The local API wants a token the command did not give. */
  noPermission: 77,
  /** The config, key or token file is unreadable or wrong: fix the file. */
  config: 78,
} as const;

/** A bad option: one clear message, exit 64 (or 78 when the config file itself is at fault). */
export class OptionError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
    this.name = 'OptionError';
  }
}
