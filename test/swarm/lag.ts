import type { AgentComponents } from '../../src/agent/agent.js';
import type { DatagramTransport, PeerClient } from '../../src/transport/transport.js';
import { PeerRequestError } from '../../src/transport/transport.js';
import type { Clock } from '../../src/util/clock.js';
import { seededRandom } from '../../src/util/random.js';
import type { FaultEvent } from './scenario.js';
import { freezeStalls } from './freeze.js';
import { stormStalls } from './storm.js';

type LagFault = Extract<FaultEvent, { kind: 'lag' }>;

/**
 * A lagging agent, from a random stream of its own so that the rest of a seed's schedule (and every
 * recorded regression seed) stays what it was: one seed in six has one agent whose loop stalls 0.1-3 s,
 * from busy all along to a stall every few seconds, for 2-15 s.
 */
export function drawLag(seed: number, names: string[], faultMs: number): FaultEvent[] {
  const r = seededRandom(seed ^ 0x1a6f00d);
  if (r() >= 1 / 6) return [];
  const stallMs = Math.round(100 + r() * 2900);
  const everyMs = Math.round(stallMs * (1 + r() * 3));
  const at = Math.round(r() * faultMs);
  const until = Math.min(faultMs, at + Math.round(2000 + r() * 13_000));
  const to = names[Math.floor(r() * names.length)];
  return at < until ? [{ at, until, kind: 'lag', to, stallMs, everyMs }] : [];
}

/**
 * When an event due at `t` is seen by an agent whose event loop stalls: a stall of `stallMs` begins every
 * `everyMs` while a lag fault lasts (everyMs = stallMs: busy all along, each turn of the loop stallMs
 * long, the bench's 200 agents in four processes on two cores). What falls in a stall waits for its end.
 */
export function stallRelease(faults: readonly FaultEvent[], agent: string): ((t: number) => number) | undefined {
  const mine = [
    ...faults.filter((f): f is LagFault => f.kind === 'lag' && f.to === agent).map((f) => ({ ...f, phase: 0 })),
    ...stormStalls(faults, agent),
    ...freezeStalls(faults, agent),
  ];
  if (mine.length === 0) return undefined;
  // Not chained: what a stall held runs at its end, even where the next stall (its processing) begins.
  return (t) => {
    let seen = t;
    for (const f of mine) {
      if (t < f.at || t >= f.until) continue;
      const start = f.at + f.phase + Math.floor((t - f.at - f.phase) / f.everyMs) * f.everyMs;
      if (t < start + f.stallMs) seen = Math.max(seen, start + f.stallMs);
    }
    return seen;
  };
}

/**
 * The parts of a simulated agent that a stalled event loop delays: its timers fire at the stall's end;
 * datagrams and answers that arrive in a stall are read at its end, after the timers due by then (Node
 * runs due timers before it reads sockets), so a probe whose deadline fell in the same stall times out
 * with its answer unread. Not modelled: the agent's own answers to others (the in-memory service answers
 * at once) and the CPU a stall stands for.
 */
export function laggingComponents(
  clock: Clock,
  release: (t: number) => number,
  peers: PeerClient,
  transport: DatagramTransport | undefined,
): Partial<AgentComponents> {
  const later = (then: () => void) => {
    const now = clock.monotonic();
    const seen = release(now);
    if (seen > now) clock.setTimeout(then, seen - now);
    else then();
  };
  const lagging: Clock = {
    now: () => clock.now(),
    monotonic: () => clock.monotonic(),
    setTimeout: (fn, ms) => clock.setTimeout(fn, release(clock.monotonic() + ms) - clock.monotonic()),
    clearTimeout: (h) => clock.clearTimeout(h),
  };
  /** The outcome of a request, as the stalled agent sees it: late, and lost to the deadline if that ran first. */
  const seen = <T>(timeoutMs: number, request: () => Promise<T>): Promise<T> => {
    const deadline = clock.monotonic() + timeoutMs;
    const settled = request().then(
      (value) => ({ value }),
      (err: unknown) => ({ err }),
    );
    return settled.then(
      (outcome) =>
        new Promise<T>((resolve, reject) => {
          const arrived = clock.monotonic();
          later(() => {
            const stalled = clock.monotonic() > arrived;
            if ('value' in outcome && !(stalled && deadline <= clock.monotonic())) return resolve(outcome.value);
            const err =
              'err' in outcome ? outcome.err : new PeerRequestError('timeout', 'timed out (answer read late)');
            reject(err instanceof Error ? err : new Error(String(err)));
          });
        }),
    );
  };
  return {
    clock: lagging,
    peers: {
      changes: (peer, req, timeoutMs) => seen(timeoutMs, () => peers.changes(peer, req, timeoutMs)),
      hello: (peer, timeoutMs, withPeers, asker) =>
        seen(timeoutMs, () => peers.hello(peer, timeoutMs, withPeers, asker)),
      // The bulk ask too: without it a lagging newcomer never asked its join member for the site's sets.
      ...(peers.sets && {
        sets: (peer, after, timeoutMs) => seen(timeoutMs, () => peers.sets!(peer, after, timeoutMs)),
      }),
      close: () => peers.close(),
    },
    ...(transport && {
      transport: {
        ...transport,
        start: (onMessage) => transport.start((data, from, kind) => later(() => onMessage(data, from, kind))),
      },
    }),
  };
}

/**
 * The peers' loops are late too (50 agents in one busy process): every request to `names` from `at` to
 * `until` is answered `delayMs` late. The simulator's agents otherwise answer at once, even while lagging.
 */
export function lateAnswers(names: readonly string[], at: number, until: number, delayMs: number): FaultEvent[] {
  return names.map((to) => ({ at, until, kind: 'rpc', to, fault: 'late', share: 1, delayMs }));
}
