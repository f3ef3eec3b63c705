import type { Hint } from '../protocol/messages.js';
import { incarnationTag } from '../protocol/messages.js';
import type { Endpoint } from '../transport/transport.js';
import type { Catchup } from './catchup.js';
import { LEFT } from './hints.js';
import { noteAlternate } from './catchup-source.js';
import type { SyncContext } from './sync-context.js';
import type { Transitions } from './transitions.js';
import type { Peer } from './peer-table.js';
import { isMember } from './ring.js';

type Parts = { transitions: () => Transitions; catchup: () => Catchup };

/**
 * A datagram's hints, once the other datagrams read in this turn of the loop are handled (`defer`; at once
 * without it): nearly all name versions already held, and none is needed to apply what the datagram itself
 * carries. 50 agents sharing a loop each held a change one hint pass later than the agent before (change14).
 */
export function hintsAfterTurn(s: SyncContext, parts: Parts, hints: readonly Hint[], at: Endpoint, sender?: Peer) {
  if (hints.length === 0) return;
  const work = () => s.running() && receiveHints(s, parts, hints, at, sender);
  if (s.c.defer) s.c.defer(work);
  else work();
}

/** Hints ride on authenticated datagrams only, and each counts only for the life it names. */
export function receiveHints(
  s: SyncContext,
  parts: Parts,
  hints: readonly Hint[],
  reporter: Endpoint,
  sender?: Peer,
): void {
  // A verified member at its own address names only origins it holds: what it names is no made-up name. Asked
  // only of a hint naming a version not held: nearly every hint names one held (change15).
  let member: boolean | undefined;
  const fromMember = () =>
    (member ??= sender !== undefined && isMember(s, sender) && sender.endpoint.address === reporter.address);
  for (const hint of hints) {
    const peer = s.peers.byHash(hint.nameHash);
    if (peer?.name === s.cfg.name) continue;
    // Each drop is counted: a change a viewer never learnt of says which it was.
    const ignored = whyIgnored(peer, hint);
    if (ignored || !peer) {
      s.c.metrics.hintsIgnored.inc({ reason: ignored ?? 'unknown-origin' });
      continue;
    }
    const r = peer.replica;
    if (hint.version === LEFT) parts.transitions().goodbye(peer, 'hint', true);
    if (hint.version === LEFT || hint.version <= r.heldVersion()) continue;
    // It holds a version this agent lacks: a source when the origin does not answer, even once the origin's
    // own datagram told of that version first.
    noteAlternate(s, r, reporter, hint.version);
    const newer = hint.version > r.target;
    // The origin's own announcement may be a few milliseconds behind the hint: give it that long.
    if (newer) r.buffer.startGrace(s.c.clock.monotonic(), s.cfg.reorderGraceMs);
    if (fromMember()) parts.catchup().named(peer);
    if (newer) parts.catchup().want(peer, hint.version, 'hint');
  }
}

/** Why a hint cannot count (herald_hints_ignored_total's reason): undefined when it names a life held. */
function whyIgnored(peer: Peer | undefined, hint: Hint): string | undefined {
  if (!peer) return 'unknown-origin';
  if (peer.replica.left) return 'left';
  return incarnationTag(peer.replica.incarnation) === hint.incarnationTag ? undefined : 'other-life';
}
