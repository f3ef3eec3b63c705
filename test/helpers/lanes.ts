import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/**
 * `npm test` runs the test files in two uvu processes at once, one a core (test/helpers/run-lanes.ts):
 *
 * - **cpu**: files that wait on nothing outside their process: the simulator on its virtual clock, codecs, the
 *   directory, the house rules. Their results cannot depend on the machine's load, only their duration does, so
 *   this lane runs at a lower priority and takes whatever processor time the other leaves.
 * - **real-time**: files that start processes, open sockets, watch files or sleep on the real clock, whose
 *   bounds are in milliseconds of wall time. They run at normal priority, as they did alone.
 *
 * A file's lane is derived from its compiled code, never kept by hand: it is real-time if it, or a test module it
 * imports (following imports within dist/test and dist/bench, not into dist/src), imports a module that reaches
 * the world (WORLD, WORLD_SRC), or if the file or such a helper calls a real timer. The simulator's own modules
 * (dist/test/swarm) time their progress and reports with real timers but never wait on them: their timers do not
 * count. What the rule cannot see (a src module opening a socket for a file that imports none) the cpu lane's
 * guard (cpu-lane-guard.ts) refuses and reports, so a wrong lane fails the run rather than hiding.
 */
export type Lane = 'cpu' | 'real-time';

/** Modules whose use means waiting on the world: processes, sockets, brokers, mDNS responders. */
export const WORLD: readonly string[] = [
  'child_process',
  'net',
  'http',
  'https',
  'http2',
  'tls',
  'dgram',
  'undici',
  'mqtt',
  'multicast-dns',
  'bonjour-service',
];

/**
 * Modules of dist/src that listen or connect on real sockets when started (the local API and the peer endpoint,
 * the UDP and HTTP transports): a test file that imports one starts it, most likely (peer-hostile-query starts a
 * peer endpoint on loopback). The rule does not follow imports into src, where the simulator's agents import
 * them too without starting them.
 */
export const WORLD_SRC: readonly string[] = ['src/http/', 'src/transport/udp-', 'src/transport/http-peer-client'];

/** A call of the global setTimeout/setInterval (not a fake clock's `clock.setTimeout`): a real-time wait. */
const REAL_TIMER = /(?:^|[^.\w$])(?:setTimeout|setInterval)\s*\(/m;
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\(\s*)['"]([^'"]+)['"]/g;

export interface LaneOf {
  lane: Lane;
  /** Why a file is real-time: the first world module or timer found, and where. */
  reason?: string;
}

function bare(specifier: string): string {
  const name = specifier.replace(/^node:/, '');
  return name.startsWith('@') ? name.split('/').slice(0, 2).join('/') : name.split('/')[0];
}

/**
 * The lane of one compiled test file. `dist` is the compiled tree's root (its test/, bench/ and src/ folders).
 * Modules read are cached in `seen` across calls.
 */
export function laneOf(file: string, distDir: string, seen = new Map<string, string>()): LaneOf {
  const dist = resolve(distDir);
  const test = join(dist, 'test');
  const followed = [join(dist, 'test') + sep, join(dist, 'bench') + sep];
  const simulator = join(test, 'swarm') + sep;
  const queue = [resolve(file)];
  const visited = new Set(queue);
  while (queue.length > 0) {
    const at = queue.shift()!;
    let code = seen.get(at);
    if (code === undefined) {
      // A specifier with no compiled file (a JSON file, say) has no imports to follow.
      code = existsSync(at) ? readFileSync(at, 'utf8') : '';
      seen.set(at, code);
    }
    const where = relative(dist, at);
    if (!at.startsWith(simulator) && REAL_TIMER.test(code)) return { lane: 'real-time', reason: `a timer in ${where}` };
    for (const [, specifier] of code.matchAll(SPECIFIER)) {
      if (!specifier.startsWith('.')) {
        if (WORLD.includes(bare(specifier))) return { lane: 'real-time', reason: `${specifier} in ${where}` };
        continue;
      }
      const next = resolve(dirname(at), specifier);
      const inDist = relative(dist, next).split(sep).join('/');
      if (WORLD_SRC.some((w) => inDist.startsWith(w))) return { lane: 'real-time', reason: `${inDist} in ${where}` };
      if (visited.has(next) || !followed.some((root) => next.startsWith(root))) continue;
      visited.add(next);
      queue.push(next);
    }
  }
  return { lane: 'cpu' };
}

/** Every compiled test file under `root` (dist/test), as uvu names them: the path under root, '/' between. */
export function testFiles(root: string, pattern = /\.test\.js$/): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.test\.js$/.test(entry.name)) {
        const name = relative(root, path).split(sep).join('/');
        if (pattern.test(name)) found.push(name);
      }
    }
  };
  walk(root);
  return found.sort((a, b) => a.localeCompare(b));
}

/** An uvu file pattern that matches exactly `names` (uvu tests it, case-insensitive, against each path). */
export function exactly(names: readonly string[]): string {
  return `^(${names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`;
}
