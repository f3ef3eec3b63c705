import type { AgentInfo } from '../directory/records.js';
import { fnv1a32 } from '../protocol/messages.js';

/**
 * A digest of who an agent holds alive, in which life: the agents of its directory that are alive and not
 * imported through MQTT, itself included, by name. Two agents that agree on the site give the same 32 bits
 * (the asker holds the answerer, the answerer itself, and the other way round). Rejoin compares it with one
 * ring neighbour's before asking that neighbour's whole summary on evidence that may be only a late loop of its
 * own (docs/protocol.md, *Rejoin*): Scuttlebutt's digest-first reconciliation, for one exchange. A collision
 * (2^-32) leaves the difference to the backstop, as before the exchange existed.
 */
export function viewDigest(directory: { agents(): AgentInfo[] }): number {
  const alive = directory
    .agents()
    .flatMap((a) => (a.state === 'alive' && !a.remote ? [`${a.name}/${a.incarnation}`] : []))
    .sort();
  return fnv1a32(alive.join(' '));
}
