import type { Logger } from '../util/logger.js';

export type BugKind = 'unhandled-rejection' | 'uncaught-exception';

/**
 * The last line of defence of a long-running agent: an error that escaped every handler is a bug in
 * Herald, not a reason to stop serving the site. It is logged with its stack and counted (the caller
 * increments herald_bugs_total), and the process carries on; a wedged event loop is still caught by
 * the systemd watchdog. Returns the function that removes the guard.
 */
export function installProcessGuard(logger: Logger, onBug: (kind: BugKind) => void): () => void {
  const report = (kind: BugKind) => (err: unknown) => {
    try {
      onBug(kind);
      logger.error({ err, kind }, 'bug: an error escaped every handler; the agent carries on');
    } catch {
      // Reporting must never throw from inside the guard: that would be the crash it exists to prevent.
    }
  };
  const onRejection = report('unhandled-rejection');
  const onException = report('uncaught-exception');
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
