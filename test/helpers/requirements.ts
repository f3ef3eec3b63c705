import { execFileSync } from 'node:child_process';
import { test as uvuTest } from 'uvu';

/**
 * Tests that need root (network namespaces) or a Debian package skip on a laptop with the reason, but
 * CI sets HERALD_REQUIRE_ALL=1 and then a missing requirement fails the run instead of hiding it.
 */
export const STRICT = process.env.HERALD_REQUIRE_ALL === '1';

export function missingRequirement(checks: { what: string; ok: () => boolean }[]): string | undefined {
  for (const c of checks) {
    let ok: boolean;
    try {
      ok = c.ok();
    } catch {
      ok = false;
    }
    if (!ok) return c.what;
  }
  return undefined;
}

export function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Registers `fn` as a test, or as a skip (a failure under HERALD_REQUIRE_ALL) when `missing` is set. */
export function testIf(
  suite: typeof uvuTest,
  missing: string | undefined,
  name: string,
  fn: () => Promise<void> | void,
): void {
  if (!missing) {
    suite(name, fn);
    return;
  }
  if (STRICT) {
    suite(name, () => {
      throw new Error(`required in CI (HERALD_REQUIRE_ALL=1) but unavailable: ${missing}`);
    });
    return;
  }
  console.log(`  skipped '${name}': needs ${missing}`);
  suite.skip(name, fn);
}
