/**
 * Imported by a test file (first), it turns an unhandled rejection or an uncaught exception anywhere in
 * the run into a failed run with the error shown, rather than a crash that hides which test caused it
 * or a handler somewhere that swallows it. Installed once per process, whoever imports it first.
 */
const MARK = Symbol.for('herald.test.no-unhandled');
const holder = globalThis as { [MARK]?: boolean };

if (!holder[MARK]) {
  holder[MARK] = true;
  const fail = (kind: string) => (err: unknown) => {
    console.error(`\n✘ ${kind} during the tests (a bug: every promise must be awaited or caught):`);
    console.error(err);
    process.exitCode = 1;
  };
  process.on('unhandledRejection', fail('unhandled rejection'));
  process.on('uncaughtException', fail('uncaught exception'));
}

export {};
