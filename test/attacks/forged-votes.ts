import { encodeMessage } from '../../src/protocol/codec.js';
import { MessageType } from '../../src/protocol/messages.js';
import type { ScaleSite } from '../swarm/scale-site.js';

/**
 * A heartbeat in a live agent's name, its life and version, from its own address (a spoofed UDP source on an open
 * site), naming `view` as its sender's view digest: a forged vote (src/sync/view-votes.ts).
 */
export function forgeVote(site: ScaleSite, name: string, view: number): void {
  const v = site.agent(name);
  const msg = {
    type: MessageType.heartbeat,
    site: 'sim',
    name: v.name,
    incarnation: v.incarnation,
    version: v.agent.local.currentVersion,
    peerPort: 7771,
    hints: [],
    intervalMs: 20_000,
    view,
  };
  site.sim.network.inject(v.address, encodeMessage(msg).bytes);
}
