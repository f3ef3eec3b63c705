import type { Hint } from '../protocol/messages.js';
import { incarnationTag } from '../protocol/messages.js';
import type { Endpoint } from '../transport/transport.js';
import type { Catchup } from './catchup.js';
import { LEFT } from './hints.js';
import { sameEndpoint } from './peer-table.js';
import type { SyncContext } from './sync-context.js';
import type { Transitions } from './transitions.js';

/** Hints ride on authenticated datagrams only, and each counts only for the life it names. */
export function receiveHints(
  s: SyncContext,
  parts: { transitions: () => Transitions; catchup: () => Catchup },
  hints: readonly Hint[],
  reporter: Endpoint,
): void {
  for (const hint of hints) {
    const peer = s.peers.byHash(hint.nameHash);
    if (!peer || peer.name === s.cfg.name) continue;
    const r = peer.replica;
    if (r.left || incarnationTag(r.incarnation) !== hint.incarnationTag) continue;
    if (hint.version === LEFT) parts.transitions().goodbye(peer, 'hint', true);
    // The target first: it is a field, while the held version is a directory lookup, for every hint heard.
    if (hint.version === LEFT || hint.version <= r.target || hint.version <= r.heldVersion()) continue;
    r.alternates = [reporter, ...r.alternates.filter((e) => !sameEndpoint(e, reporter))].slice(0, 3);
    // The origin's own announcement may be a few milliseconds behind the hint: give it that long.
    r.buffer.startGrace(s.c.clock.monotonic(), s.cfg.reorderGraceMs);
    parts.catchup().want(peer, hint.version, 'hint');
  }
}
