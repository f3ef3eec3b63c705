import { now, waitFor } from '../harness.js';
import { percentile } from '../stats.js';
import type { BenchCluster } from '../system.js';

/**
 * Agent 0 crashes: the time until each other agent shows it lost, polled every 10 ms, counted from the moment
 * its sockets closed. A child process reports that moment (Date.now(), one clock on one machine); without it,
 * from the moment the crash was ordered. Counted from the crash command's reply (before attack11), a child's
 * stop (up to 1 s, its server draining) and its loop's lateness (seconds at one agent a process under load)
 * were cut from every viewer's time: those that lost it meanwhile were counted at ~0 ms.
 */
export async function crashTimes(c: BenchCluster, timeoutMs: number): Promise<{ p99: number; undetected: number }> {
  const victim = c.names[0];
  const seenAt = new Map<number, number>();
  const poll = () => {
    c.names.forEach((_, v) => {
      if (v !== 0 && !seenAt.has(v) && c.state(v, victim) === 'lost') seenAt.set(v, now());
    });
    return seenAt.size === c.names.length - 1;
  };
  // Polled while the crash is answered too: viewers may lose it before the answer comes.
  const polling = setInterval(poll, 10);
  const ordered = now();
  const closedAt = await c.crash(0).finally(() => clearInterval(polling));
  const t0 =
    typeof closedAt === 'number' ? Math.max(ordered, Math.min(now(), now() - (Date.now() - closedAt))) : ordered;
  await waitFor(poll, timeoutMs, 10);
  const times = [...seenAt.values()].map((at) => Math.max(0, at - t0)).sort((a, b) => a - b);
  const undetected = c.names.length - 1 - times.length;
  return { p99: undetected > 0 ? Infinity : percentile(times, 99), undetected };
}
