import { seededRandom } from '../../src/util/random.js';
import type { FaultEvent } from './scenario.js';

/**
 * A host that hears none of the site's multicast while its unicast and TCP work both ways: a switch's IGMP
 * snooping that lost the host's membership report (or a querier gone from the VLAN) forwards the group to
 * the ports that joined, not to it, until the next query (125 s by default). The host still sends to the group,
 * and every other agent hears it. Nothing here excuses a loss: a viewer that hears no heartbeat probes over
 * TCP, which answers (LivenessJudge), and it learns each change from its probes' answers and its ring subjects.
 *
 * From a random stream of its own, so that the rest of a seed's schedule stays what it was: one seed in eight
 * has one or two such hosts, each deaf for 2-20 s.
 */
export function drawDeaf(seed: number, names: string[], faultMs: number): FaultEvent[] {
  const r = seededRandom(seed ^ 0x16a9d3af);
  if (r() >= 1 / 8) return [];
  const out: FaultEvent[] = [];
  for (let i = 0, n = r() < 0.7 ? 1 : 2; i < n; i++) {
    const to = names[Math.floor(r() * names.length)];
    const at = Math.round(r() * faultMs);
    const until = Math.min(faultMs, at + Math.round(2000 + r() * 18_000));
    if (at < until) out.push({ at, until, kind: 'deaf', to });
  }
  return out;
}
