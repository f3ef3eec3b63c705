import type { AgentContext, AgentExtension } from '../../src/agent/agent.js';
import type { MemoryNetwork } from '../../src/transport/memory-network.js';
import type { Clock, TimerHandle } from '../../src/util/clock.js';
import type { Random } from '../../src/util/random.js';

interface Advert {
  name: string;
  site: string;
  incarnation: number;
  version: number;
  address: string;
  peerPort: number;
}

/**
 * mDNS in memory: records travel between the simulated discoveries with their own loss (per receiver)
 * and obey the memory network's partitions. It stands in for src/mdns/mdns-discovery.ts plus
 * its browser under a fake clock, and keeps the behaviour the sync sees through them.
 */
export class SimMdnsBus {
  readonly members = new Map<string, SimMdnsDiscovery>();
  /** Share of mDNS packets each receiver (by address) loses. */
  readonly loss = new Map<string, number>();
  onEvent: ((line: string) => void) | undefined;

  constructor(
    readonly c: { clock: Clock; random: Random; network: MemoryNetwork },
    /** Receivers whose packets from a given sender are dropped (a goodbye lost on its way). */
    readonly dropped: (from: string, to: string) => boolean,
  ) {}

  send(from: string, what: { advert: Advert } | { goodbye: Advert }, only?: string): void {
    for (const [to, member] of this.members) {
      if (to === from || (only !== undefined && to !== only)) continue;
      const kind = 'advert' in what ? 'advert' : 'goodbye';
      const reach = this.c.network.reaches(from, to) && !this.dropped(from, to);
      if (!reach || this.c.random() < (this.loss.get(to) ?? 0)) {
        this.onEvent?.(`mdns ${kind} ${from} -> ${to} lost`);
        continue;
      }
      this.c.clock.setTimeout(() => {
        if (this.members.get(to) !== member) return;
        if ('advert' in what) member.hear(what.advert);
        else member.hearGoodbye(what.goodbye);
      }, 0.5);
    }
  }

  /**
   * A browser's query: every responder answers with its current record (each answer may be lost too);
   * with `name`, a query for that instance's SRV/TXT, answered by the responder that owns the name.
   */
  query(from: string, name?: string): void {
    const asker = this.members.get(from);
    for (const [to, member] of this.members) {
      if (to === from || !this.c.network.reaches(from, to) || this.c.random() < (this.loss.get(to) ?? 0)) continue;
      // Known-answer suppression (§7.1): a PTR query lists the instances the asker holds; those stay quiet.
      const owner = member.owner();
      if (name === undefined ? owner !== undefined && !asker?.holds(owner) : owner === name) member.answer(from);
    }
  }
}

/**
 * One agent's simulated mDNS discovery. Publishing: its record announced at 0, 1, 3, 9, 27... s after
 * start and twice, a second apart, after each change. Browsing, as bonjour-service's Browser does: a
 * service seen for the first time is `up`, a changed TXT is `txt-update`, a moved one `srv-update`
 * (each handed to ClusterSync.observe), a repeated unchanged record is nothing, and a goodbye of a
 * known service is `down` with the TXT last seen (ClusterSync.observeGoodbye).
 */
export class SimMdnsDiscovery implements AgentExtension {
  readonly name = 'mdns';
  private ctx: AgentContext | undefined;
  private timer: TimerHandle | undefined;
  private readonly seen = new Map<string, Advert>();
  private unsubscribe: (() => void) | undefined;
  private queries: TimerHandle | undefined;
  /** §10.4 re-queries per name, as src/mdns/browser.ts rate-limits them. */
  private readonly requeries = new Map<string, { at: number; gap: number }>();
  private stopRequery: (() => void) | undefined;

  constructor(
    private readonly bus: SimMdnsBus,
    private readonly address: string,
    private readonly browse: boolean,
  ) {}

  async start(ctx: AgentContext): Promise<void> {
    this.ctx = ctx;
    this.bus.members.set(this.address, this);
    this.unsubscribe = ctx.local.onChange(() => this.announce(1000, 1000));
    this.announce(1000, 3_600_000);
    if (this.browse) this.query(0);
    if (this.browse) this.stopRequery = ctx.sync.onUnreachable((name) => this.requery(name));
    return Promise.resolve();
  }

  stop(opts: { goodbye?: boolean } = {}): Promise<void> {
    if (this.bus.members.get(this.address) === this) this.bus.members.delete(this.address);
    this.unsubscribe?.();
    this.stopRequery?.();
    const clock = this.bus.c.clock;
    clock.clearTimeout(this.timer);
    clock.clearTimeout(this.queries);
    if ((opts.goodbye ?? true) && this.ctx) this.bus.send(this.address, { goodbye: this.record() });
    this.ctx = undefined;
    return Promise.resolve();
  }

  hear(advert: Advert): void {
    if (!this.ctx || !this.browse) return;
    const before = this.seen.get(advert.name);
    const same =
      before &&
      before.incarnation === advert.incarnation &&
      before.version === advert.version &&
      before.address === advert.address &&
      before.peerPort === advert.peerPort;
    // bonjour reports nothing for it; the mDNS module hands it to observeRefresh (it still says "here").
    if (same) return this.ctx.sync.observeRefresh(advert);
    this.seen.set(advert.name, advert);
    this.requeries.delete(advert.name);
    this.ctx.sync.observe(advert, 'mdns');
  }

  hearGoodbye(goodbye: Advert): void {
    const before = this.seen.get(goodbye.name);
    if (!this.ctx || !this.browse || !before) return;
    this.seen.delete(goodbye.name);
    this.ctx.sync.observeGoodbye(before.name, before.incarnation);
  }

  /** The agent whose record this responder publishes (while it runs). */
  owner(): string | undefined {
    return this.ctx?.identity.name;
  }

  /** Whether this browser holds `name`'s record (a known answer in its queries). */
  holds(name: string): boolean {
    return this.seen.has(name);
  }

  /** A probe or catch-up of a known agent failed: its SRV/TXT asked for again, 1 s doubling to a minute. */
  private requery(name: string): void {
    const now = this.bus.c.clock.monotonic();
    const last = this.requeries.get(name);
    if (!this.ctx || !this.seen.has(name) || (last && now < last.at)) return;
    const gap = last?.gap ?? 1000;
    this.requeries.set(name, { at: now + gap, gap: Math.min(gap * 2, 60_000) });
    this.bus.query(this.address, name);
  }

  answer(to: string): void {
    if (this.ctx) this.bus.send(this.address, { advert: this.record() }, to);
  }

  private record(): Advert {
    const id = this.ctx!.identity;
    const version = this.ctx!.local.currentVersion;
    return {
      name: id.name,
      site: id.site,
      incarnation: id.incarnation,
      version,
      address: id.address,
      peerPort: id.peerPort,
    };
  }

  private announce(next: number, last: number): void {
    if (!this.ctx) return;
    this.bus.send(this.address, { advert: this.record() });
    const clock = this.bus.c.clock;
    clock.clearTimeout(this.timer);
    if (next > last) return;
    this.timer = clock.setTimeout(() => this.announce(next * 3, last), next);
  }

  /** Continuous querying as src/mdns/browser.ts does (RFC 6762 §5.2): at start, then 1 s apart, doubling to an hour. */
  private query(delay: number, interval = 1000): void {
    this.queries = this.bus.c.clock.setTimeout(() => {
      if (!this.ctx) return;
      this.bus.query(this.address);
      this.query(interval, Math.min(interval * 2, 3_600_000));
    }, delay);
  }
}
