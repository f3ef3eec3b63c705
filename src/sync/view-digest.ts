import type { AgentInfo } from '../directory/records.js';
import type { PeerSummary } from '../transport/transport.js';
import { fnv1a32 } from '../protocol/messages.js';
import type { Peer } from './peer-table.js';
import type { SyncContext } from './sync-context.js';

/**
 * A digest of who an agent holds alive, in which life: the agents of its directory that are alive and not
 * imported through MQTT, itself included, by name. Two agents that agree on the site give the same 32 bits
 * (the asker holds the answerer, the answerer itself, and the other way round). Rejoin compares it with one
 * ring neighbour's before asking that neighbour's whole summary on evidence that may be only a late loop of its
 * own (docs/protocol.md, *Rejoin*): Scuttlebutt's digest-first reconciliation, for one exchange. A collision
 * (2^-32) leaves the difference to the backstop, as before the exchange existed.
 */
export function viewDigest(directory: { agents(): AgentInfo[] }, except?: string): number {
  const alive = directory
    .agents()
    .flatMap((a) => (a.state === 'alive' && !a.remote && a.name !== except ? [`${a.name}/${a.incarnation}`] : []))
    .sort();
  return fnv1a32(alive.join(' '));
}

/**
 * The digest of the view a neighbour's summary says it holds (the agents it names, and itself), as viewDigest gives
 * it: a summary leaves out agents held at version 0 (and imported ones are in it), so a view holding one of those
 * gives another digest, as if the views differed (the caller then asks, as without this).
 */
export function summaryDigest(other: Peer, peers: readonly PeerSummary[]): number {
  const alive = [other, ...peers].map((p) => `${p.name}/${'replica' in p ? p.replica.incarnation : p.incarnation}`);
  return fnv1a32(alive.sort().join(' '));
}

/**
 * The digest of a neighbour's view, asked in a hello (`?digest=1`, no summary): undefined when its answer named
 * none (an older release), `unanswered` when it did not answer as itself. Rejoin's compares and a newcomer's
 * join checks (join-view.ts) ask it alike.
 */
export async function neighbourDigest(s: SyncContext, other: Peer): Promise<number | undefined | 'unanswered'> {
  try {
    const asker = { ...s.self, digest: true };
    const hello = await s.c.peers.hello(other.endpoint, s.cfg.livenessPeriodMs, false, asker);
    return hello.name === other.name ? hello.digest : 'unanswered';
  } catch {
    return 'unanswered';
  }
}
