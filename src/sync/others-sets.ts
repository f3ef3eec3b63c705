import type { Endpoint, Holder } from '../transport/transport.js';
import type { Clock } from '../util/clock.js';
import { TokenBuckets } from '../util/token-bucket.js';
import { HOLDERS_NAMED } from './peer-protocol.js';

/**
 * The catch-ups of other origins' sets (as an alternate) a member serves at once, and a second after: past them it
 * sheds the request (SHED_STATUS). A cold start whose origin answered one catch-up each 300 ms timed out every
 * viewer's requests together, and their first alternate turns came together too, when 2-3 members held its set and
 * each viewer had heard the hint of one: one member served 80 catch-ups of that set in 0.4 s, 84 of the 96 served by
 * alternates at 100 agents, 154 of 166 at 200 (attacks/sync-alternate-incast). Its own set is always served: the
 * origin's endpoint is the one every viewer may ask.
 */
export const OTHERS_SETS = { burst: 8, perSecond: 2 };

/** Askers kept per origin as holders to name (the last served), and origins kept (all forgotten when full). */
const KEPT = { holders: 8, origins: 64 };

/**
 * Which catch-ups of other origins' sets this member serves, and whom a shed one names: the askers it served that
 * set to last (their peer port given, `port`), who hold it now. Shed alone, the askers turned to the slow origin
 * again, for each had heard the hint of one member only (the first versions of a cold start ride no ring round):
 * complete 7.05 -> 23.4 s at 100, past 30 s at 200. Named, each shed asker asks one of those at once, and they in
 * turn serve a few and name theirs: the set spreads as a tree, a few catch-ups a member.
 */
export class OthersSets {
  private readonly bucket: TokenBuckets;
  private readonly served = new Map<string, Holder[]>();
  /** Sheds answered per origin: each names the next holders in turn, so that the shed askers spread. */
  private readonly turns = new Map<string, number>();

  constructor(clock: Clock) {
    this.bucket = new TokenBuckets(clock, OTHERS_SETS.perSecond, OTHERS_SETS.burst, 1);
  }

  /** Undefined: serve it (an asker that gave its port is kept as a holder); else shed, naming these holders. */
  serve(origin: string, version: number, asker: Endpoint | undefined): Holder[] | undefined {
    const held = this.served.get(origin) ?? [];
    if (!this.bucket.take('')) {
      if (held.length === 0) return [];
      const turn = this.turns.get(origin) ?? 0;
      this.turns.set(origin, turn + 1);
      return Array.from({ length: Math.min(HOLDERS_NAMED, held.length) }, (_, i) => held[(turn + i) % held.length]);
    }
    if (asker === undefined) return undefined;
    if (!this.served.has(origin) && this.served.size >= KEPT.origins)
      [this.served, this.turns].forEach((m) => m.clear());
    const others = held.filter((h) => h.address !== asker.address || h.port !== asker.port);
    this.served.set(origin, [...others, { ...asker, version }].slice(-KEPT.holders));
    return undefined;
  }
}
