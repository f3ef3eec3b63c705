import { fstatSync } from 'node:fs';

/**
 * True when stdout is connected to journald: systemd sets JOURNAL_STREAM to the device and inode of
 * that stream. Comparing them (rather than trusting the variable alone) keeps a child whose stdout is a
 * pipe, such as a test's, from getting prefixed lines because its parent ran under systemd.
 */
export function stdoutIsJournal(env: NodeJS.ProcessEnv, fd = 1): boolean {
  const m = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!m) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1]) && st.ino === BigInt(m[2]);
  } catch {
    return false;
  }
}

/** sd-daemon(3) priorities for pino's levels: journald files a line by its `<N>` prefix. */
export const JOURNAL_PRIORITY: readonly [level: number, priority: number][] = [
  [10, 7], // trace: debug
  [20, 7], // debug
  [30, 6], // info
  [40, 4], // warn: warning
  [50, 3], // error: err
  [60, 2], // fatal: crit
];

/**
 * Text for stderr that says why the process fails: under journald each line is prefixed `<3>` (err), so
 * that `journalctl -p err` shows why the unit stopped (journald files an unprefixed line as info).
 */
export function errorText(text: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!stdoutIsJournal(env, 2)) return text;
  return text.replace(/^(?=.)/gm, '<3>');
}
