import type { PeerService } from '../../src/transport/transport.js';
import type { ScaleSite } from '../swarm/scale-site.js';

/** One peer request as a member answered it, and where: what a forger may rewrite. */
export interface Answered {
  answer: { status: number; body: unknown };
  route: 'changes' | 'hello';
  query: URLSearchParams;
  /** The asker's address. */
  from: string;
  /** The member's own address. */
  address: string;
}

/**
 * Every member's peer service answers through `forge` once `on()` (the bulk catch-up's attacks): a forger answers
 * what it likes, on an open site anyone may run a member. Installed before the site starts.
 */
export function forgingMembers(
  site: ScaleSite,
  forge: (a: Answered) => { status: number; body: unknown },
): { on(): void } {
  let on = false;
  const wrap = site.meter.service.bind(site.meter);
  site.meter.service = (address: string, inner: PeerService): PeerService =>
    wrap(address, {
      handle: (route, query, from) => {
        const answer = inner.handle(route, query, from);
        return on ? forge({ answer, route, query, from: from.address, address }) : answer;
      },
    });
  return {
    on: () => {
      on = true;
    },
  };
}
