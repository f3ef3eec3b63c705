/**
 * Preloaded for every test file by `npm test` (node --import) and imported by the newer ones, it turns an unhandled rejection or an uncaught exception anywhere in
 * the run into a failed run with the error shown, rather than a crash that hides which test caused it
 * or a handler somewhere that swallows it. Installed once per process, whoever imports it first.
 */
const MARK = Symbol.for('herald.test.no-unhandled');
const holder = globalThis as { [MARK]?: boolean };

if (!holder[MARK]) {
  holder[MARK] = true;
  let failed = 0;
  const fail = (kind: string) => (err: unknown) => {
    failed += 1;
    console.error(`\n✘ ${kind} during the tests (a bug: every promise must be awaited or caught):`);
    console.error(err);
  };
  // uvu sets the exit code from its own results when a file is done: this says the last word.
  process.on('exit', () => {
    if (failed > 0) process.exitCode = 1;
  });
  process.on('unhandledRejection', fail('unhandled rejection'));
  process.on('uncaughtException', fail('uncaught exception'));
}

export {};
