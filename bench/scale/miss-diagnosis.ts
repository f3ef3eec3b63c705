import { readFileSync } from 'node:fs';
import type { SyncView } from '../../src/sync/sync-view.js';
import type { Deliveries, Missed } from '../harness.js';
import type { BenchCluster } from '../system.js';

/**
 * Why a change was not delivered, read when the phase gives up (only then: a few IPC round trips): for each
 * viewer behind, what it holds of the origin, its ring as it sees it, what it heard from its subjects and the
 * counters of what it dropped; for each of its subjects, the same from their side (their hint of the change,
 * the rounds they sent to their monitors, the viewer among them or not). With the kernel's UDP counters: a
 * datagram dropped on a full socket buffer reaches no agent's counter.
 */
export interface MissedView {
  viewer: string;
  view: SyncView | null;
  subjects: (SyncView | null)[];
  /** The sockets at each endpoint its subjects send their rounds to (`address:port`; 1 if all is well), their drops. */
  endpoints: Record<string, { sockets: number; drops: number } | null>;
}

/** The kernel's UDP counters of this network namespace (/proc/net/snmp); empty where there is none. */
export function udpCounters(): Record<string, number> {
  let text: string;
  try {
    text = readFileSync('/proc/net/snmp', 'utf8');
  } catch {
    return {};
  }
  const [names, values] = text.split('\n').filter((l) => l.startsWith('Udp:'));
  if (!names || !values) return {};
  const keys = names.split(/\s+/).slice(1);
  const nums = values.split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(keys.map((k, i) => [k, nums[i]]));
}

/** `after - before`, key by key: what the phase added. */
export function udpDelta(before: Record<string, number>): Record<string, number> {
  const after = udpCounters();
  return Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - (before[k] ?? 0)]));
}

/**
 * The sockets of this namespace bound at each `address:port` (/proc/net/udp), and the datagrams they dropped on a
 * full receive buffer. A viewer's endpoint socket that dropped its subjects' rounds shows here, and nowhere in
 * the agents' counters; so does an endpoint port two agents' sockets share (unicast reaches only one of them).
 */
export function endpointSockets(): Map<string, { sockets: number; drops: number }> {
  const found = new Map<string, { sockets: number; drops: number }>();
  let text: string;
  try {
    text = readFileSync('/proc/net/udp', 'utf8');
  } catch {
    return found;
  }
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 13) continue;
    const [hexAddress, hexPort] = cols[1].split(':');
    const a = parseInt(hexAddress, 16);
    const key = `${a & 255}.${(a >>> 8) & 255}.${(a >>> 16) & 255}.${a >>> 24}:${parseInt(hexPort, 16)}`;
    const at = found.get(key) ?? { sockets: 0, drops: 0 };
    found.set(key, { sockets: at.sockets + 1, drops: at.drops + Number(cols[cols.length - 1]) });
  }
  return found;
}

const MAX_ASKED = 200;

/**
 * The pairs still waiting whose viewer's directory holds the version all the same, taken off the waiting lists:
 * the mirror follows directory events, and a directory applies a change without one while it holds the origin
 * `lost` (a run at 30 % loss on a loaded machine, miss12: 4 such pairs counted as 2 undelivered changes, every
 * viewer holding the version, the origin `lost`). Counted apart, by the state the viewer held it in.
 */
export async function settleUnseen(c: BenchCluster, deliveries: Deliveries): Promise<Record<string, number>> {
  const byState: Record<string, number> = {};
  const behind = deliveries.behind();
  // A site that never converged leaves thousands behind: nothing rare to tell apart, and an IPC round trip each.
  if (!c.inspect || behind.reduce((n, b) => n + b.viewers.length, 0) > MAX_ASKED) return byState;
  for (const b of behind) {
    for (const v of b.viewers) {
      const held = (await c.inspect(v, b.origin))?.origin;
      if (!held || held.version < b.version) continue;
      deliveries.heldUnseen(b.origin, b.version, v);
      byState[held.state] = (byState[held.state] ?? 0) + 1;
    }
  }
  return byState;
}

export async function explainMisses(c: BenchCluster, missed: Missed[]): Promise<Missed[]> {
  const inspect = c.inspect?.bind(c);
  if (!inspect) return missed;
  const index = (name: string) => c.names.indexOf(name);
  for (const m of missed) {
    const views: MissedView[] = [];
    for (const { viewer } of m.viewers.slice(0, 3)) {
      const view = await inspect(index(viewer), m.origin);
      const subjects = await Promise.all((view?.subjects ?? []).map((s) => inspect(index(s.name), m.origin)));
      const sockets = endpointSockets();
      const endpoints: MissedView['endpoints'] = {};
      for (const s of subjects) {
        const to = s?.monitors.find((n) => n.name === viewer)?.datagram;
        if (to) endpoints[to] = sockets.get(to) ?? null;
      }
      views.push({ viewer, view, subjects, endpoints });
    }
    m.views = views;
  }
  return missed;
}
