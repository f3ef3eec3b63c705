import type { Counter } from '../metrics/registry.js';
import type { Endpoint } from '../transport/transport.js';
import { roundEndpoint } from './endpoint-proofs.js';
import type { Peer } from './peer-table.js';
import { aliveRing } from './ring.js';
import type { SyncContext } from './sync-context.js';

/**
 * What one agent holds of one origin and of its ring neighbours, for a benchmark or a test to say why a change
 * never reached it (bench/scale/changes.ts asks for it only when one did not): its catch-up state, the
 * subjects whose unicast rounds it hears and what it heard of them, the monitors it sends its rounds to, and
 * the counters of what it dropped. Read-only; O(ring) and the counters' labels.
 */
export interface SyncView {
  name: string;
  origin: {
    state: string;
    version: number;
    target: number;
    catchup: string;
    alternates: number;
    /** The life this agent follows, the life the directory holds, failed requests in a row, verified. */
    incarnation: number;
    heldIncarnation: number;
    failures: number;
    verified: boolean;
    /** Its hint in this agent's table, if this agent holds it as a recent change: the version and carries made. */
    hint?: { version: number; carried: number };
  };
  ringSize: number;
  subjects: Neighbour[];
  monitors: Neighbour[];
  /** `counter{reason}` -> count, of the counters a dropped hint or beat lands in. */
  ignored: Record<string, number>;
}

/** A ring neighbour as this agent knows it: where rounds reach it (roundEndpoint), unicast heard, rounds sent. */
export interface Neighbour {
  name: string;
  datagram?: string;
  heardAgoMs?: number;
  unicastHeard: number;
  roundsSent: number;
}

export function syncView(s: SyncContext, origin: string): SyncView {
  const peer = s.peers.get(origin);
  const held = s.c.directory.held(origin);
  const r = peer?.replica;
  const ring = aliveRing(s);
  const now = s.c.clock.monotonic();
  const neighbour = (name: string): Neighbour => {
    const p: Peer | undefined = s.peers.get(name);
    const to = p && roundEndpoint(p);
    return {
      name,
      ...(to && { datagram: endpointText(to) }),
      ...(p && { heardAgoMs: Math.round(now - p.lastHeard) }),
      unicastHeard: p?.unicastHeard ?? 0,
      roundsSent: p?.roundsSent ?? 0,
    };
  };
  const hint = s.hints.entryOf(origin);
  const m = s.c.metrics;
  return {
    name: s.cfg.name,
    origin: {
      state: held?.state ?? '',
      version: held?.version ?? 0,
      target: r?.target ?? 0,
      catchup: r?.catchup.kind ?? '',
      alternates: r?.alternates.length ?? 0,
      incarnation: r?.incarnation ?? 0,
      heldIncarnation: held?.incarnation ?? 0,
      failures: r?.failures ?? 0,
      verified: peer?.verified ?? false,
      ...(hint && { hint }),
    },
    ringSize: ring.size,
    subjects: ring.subjectsOf(s.cfg.name).map(neighbour),
    monitors: ring.monitorsOf(s.cfg.name).map(neighbour),
    ignored: { ...counts(m.hintsIgnored), ...counts(m.announcementsIgnored), ...counts(m.decodeErrors) },
  };
}

function endpointText(e: Endpoint): string {
  return `${e.address}:${e.port}`;
}

/** A counter's non-zero series as `name{labels}` -> value, without the `herald_` prefix. */
function counts(counter: Counter): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of counter.series()) if (value > 0) out[key.replace(/^herald_/, '')] = value;
  return out;
}
