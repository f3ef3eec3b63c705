import type { Clock, TimerHandle } from '../util/clock.js';
import type { Random } from '../util/random.js';
import { TokenBuckets } from '../util/token-bucket.js';
import { allRecords, claimLabel, claimName, specOf, uniqueRecords, type Claim } from './claims.js';
import type { DecodedPacket } from './mdns-socket.js';
import { compareProbeSets, rdata, sameName, sameRecord, type RecordLike } from './records.js';

const PROBE_INTERVAL_MS = 250; // RFC 6762 §8.1
const PROBES = 3;
const LOST_TIE_BREAK_DEFER_MS = 1000; // §8.2
const MANY_CONFLICTS_DEFER_MS = 5000; // §9: past 15 conflicts, probe at most every 5 s
const MIN_MULTICAST_INTERVAL_MS = 1000; // §6: a record is not multicast again within a second...
const PROBE_DEFENCE_INTERVAL_MS = 250; // ...except to defend it against a probe

export interface ResponderInit {
  address: string;
  clock: Clock;
  random: Random;
  send(packet: {
    type: 'query' | 'response';
    questions?: unknown[];
    answers?: unknown[];
    additionals?: unknown[];
    authorities?: unknown[];
  }): void;
  /** A claim was renamed after a conflict (RFC 6762 §9). */
  onRenamed(claim: Claim, from: string): void;
  /** A claim finished probing and was announced. */
  onAnnounced?(claim: Claim): void;
}

/**
 * The records Herald owns, and only those: probed before use, defended, answered, announced and
 * withdrawn (RFC 6762 §§6–10). Answers go out once per query, leave out what the querier already
 * knows (§7.1), never repeat a record within a second (§6), and are capped per second overall, so a
 * query of many questions draws at most the few records Herald owns.
 */
export class Responder {
  readonly host: Claim;
  private readonly services = new Map<string, Claim>();
  private readonly lastMulticast = new Map<string, number>();
  private readonly responses: TokenBuckets;
  private probeTimer: TimerHandle | undefined;
  private readonly announceTimers = new Map<string, TimerHandle>();
  private stopped = false;
  /** Another responder publishes our host label with the same data (identical is no conflict, §8.2). */
  private hostShared = false;

  constructor(
    private readonly init: ResponderInit,
    host: Claim,
  ) {
    this.host = host;
    this.responses = new TokenBuckets(init.clock, 20, 40, 1);
  }

  claims(): Claim[] {
    return [this.host, ...this.services.values()];
  }

  start(): void {
    this.scheduleProbe(this.init.random() * PROBE_INTERVAL_MS);
  }

  /** Adds or replaces a service; a changed TXT or port of an announced one is announced twice (§8.4). */
  setService(claim: Claim): void {
    const old = this.services.get(claim.key);
    if (old && specOf(old).type === specOf(claim).type && old.base === claim.base) {
      old.spec = claim.spec;
      if (old.state === 'announced') this.announce(old, 2);
      return;
    }
    if (old) this.removeService(claim.key);
    this.services.set(claim.key, claim);
    this.scheduleProbe(this.init.random() * PROBE_INTERVAL_MS);
  }

  removeService(key: string): void {
    const c = this.services.get(key);
    if (!c) return;
    this.services.delete(key);
    this.init.clock.clearTimeout(this.announceTimers.get(key));
    if (c.state === 'announced') this.init.send({ type: 'response', answers: this.goodbyeOf(c) });
  }

  /** Goodbyes for Herald's own records only: its instances' PTR, SRV, TXT, and its own host label. */
  stop(goodbye: boolean): void {
    this.stopped = true;
    this.init.clock.clearTimeout(this.probeTimer);
    for (const t of this.announceTimers.values()) this.init.clock.clearTimeout(t);
    if (!goodbye) return;
    const answers = this.claims()
      .filter((c) => c.state === 'announced')
      .flatMap((c) => this.goodbyeOf(c));
    if (answers.length > 0) this.init.send({ type: 'response', answers });
  }

  onPacket(packet: DecodedPacket): void {
    if (this.stopped) return;
    if (packet.type === 'response') return this.onResponse(packet);
    if (packet.authorities && packet.authorities.length > 0) this.onProbe(packet);
    this.answer(packet);
  }

  private goodbyeOf(c: Claim): RecordLike[] {
    // The service-type enumeration PTR is shared with every other responder on the host: never withdrawn;
    // nor is a host label another responder publishes too (two agents of one name, of two sites).
    if (c.kind === 'host' && this.hostShared) return [];
    return allRecords(c, this.host, this.init.address)
      .filter((r) => !r.name.startsWith('_services._dns-sd.'))
      .map((r) => ({ ...r, ttl: 0 }));
  }

  // ---- probing (§8.1, §8.2) and conflicts (§9) ---------------------------------------------------

  private scheduleProbe(delay: number): void {
    if (this.stopped || this.probeTimer) return;
    this.probeTimer = this.init.clock.setTimeout(() => {
      this.probeTimer = undefined;
      this.probeRound();
    }, delay);
    this.probeTimer.unref?.();
  }

  private probeRound(): void {
    const now = this.init.clock.monotonic();
    const probing = this.claims().filter((c) => c.state === 'probing');
    const due = probing.filter((c) => c.deferUntil <= now && c.probes < PROBES);
    for (const c of probing)
      if (c.probes >= PROBES && (c.kind === 'host' || this.host.state === 'announced')) {
        c.state = 'announced';
        this.announce(c, 2);
        this.init.onAnnounced?.(c);
      }
    if (due.length > 0) {
      this.init.send({
        type: 'query',
        questions: due.map((c) => ({ name: claimName(c), type: 'ANY', class: 'IN' })),
        authorities: due.flatMap((c) => uniqueRecords(c, this.host, this.init.address)),
      });
      for (const c of due) c.probes += 1;
    }
    const waiting = this.claims().filter((c) => c.state === 'probing');
    if (waiting.length === 0) return;
    const next = Math.min(...waiting.map((c) => Math.max(c.deferUntil - now, PROBE_INTERVAL_MS)));
    this.scheduleProbe(next);
  }

  /** Another host probes a name we are probing too: the lexicographically later data wins (§8.2). */
  private onProbe(packet: DecodedPacket): void {
    const theirs = (packet.authorities ?? []) as RecordLike[];
    for (const c of this.claims()) {
      if (c.state !== 'probing') continue;
      const name = claimName(c);
      const same = theirs.filter((r) => sameName(r.name, name));
      if (same.length === 0) continue;
      if (compareProbeSets(uniqueRecords(c, this.host, this.init.address), same) < 0) {
        c.probes = 0;
        c.deferUntil = this.init.clock.monotonic() + LOST_TIE_BREAK_DEFER_MS;
        this.scheduleProbe(LOST_TIE_BREAK_DEFER_MS);
      }
    }
  }

  /** A response with a record under one of our unique names and other data is a conflict. */
  private onResponse(packet: DecodedPacket): void {
    const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])] as RecordLike[];
    // Our own packets never get here (the socket drops its echo): an identical record is someone else's.
    const hostA = uniqueRecords(this.host, this.host, this.init.address)[0];
    if (records.some((r) => (r.ttl ?? 0) > 0 && sameRecord(r, hostA))) this.hostShared = true;
    for (const c of this.claims()) {
      const name = claimName(c);
      const ours = uniqueRecords(c, this.host, this.init.address);
      const conflicting = records.some(
        (r) =>
          sameName(r.name, name) &&
          (r.ttl ?? 0) > 0 &&
          (c.state === 'probing' || ours.some((o) => o.type === r.type)) &&
          !ours.some((o) => sameRecord(o, r)),
      );
      if (!conflicting) continue;
      if (c.state === 'probing') this.rename(c);
      else this.reprobe(c); // §9: back to probing; a conflict found while probing then renames
    }
  }

  private reprobe(c: Claim): void {
    c.state = 'probing';
    c.probes = 0;
    this.init.clock.clearTimeout(this.announceTimers.get(c.key));
    this.scheduleProbe(0);
  }

  private rename(c: Claim): void {
    const from = claimLabel(c);
    c.attempt += 1;
    c.probes = 0;
    if (c.attempt > 15) c.deferUntil = this.init.clock.monotonic() + MANY_CONFLICTS_DEFER_MS;
    this.init.onRenamed(c, from);
    // Instances point at the host label: a renamed host means new SRV data for each announced service.
    if (c.kind === 'host') for (const s of this.services.values()) if (s.state === 'announced') this.reprobe(s);
    this.scheduleProbe(0);
  }

  // ---- announcing (§8.3) and answering (§6, §7.1) ------------------------------------------------

  private announce(c: Claim, times: number): void {
    this.init.clock.clearTimeout(this.announceTimers.get(c.key));
    const records = allRecords(c, this.host, this.init.address);
    const additionals = c.kind === 'service' ? uniqueRecords(this.host, this.host, this.init.address) : [];
    this.init.send({ type: 'response', answers: records, additionals });
    this.markSent([...records, ...additionals]);
    if (times <= 1) {
      this.announceTimers.delete(c.key);
      return;
    }
    const t = this.init.clock.setTimeout(() => this.announce(c, times - 1), 1000);
    t.unref?.();
    this.announceTimers.set(c.key, t);
  }

  private answer(query: DecodedPacket): void {
    const questions = query.questions ?? [];
    if (questions.length === 0) return;
    const probe = (query.authorities?.length ?? 0) > 0;
    const owned = this.claims().filter((c) => c.state === 'announced');
    const answers: RecordLike[] = [];
    const additionals: RecordLike[] = [];
    const add = (list: RecordLike[], r: RecordLike) => {
      if (!answers.some((a) => sameRecord(a, r)) && !list.some((a) => sameRecord(a, r))) list.push(r);
    };
    const records = owned.map((c) => ({ c, rs: allRecords(c, this.host, this.init.address) }));
    // One pass over the questions, each against the few records we own: linear in the packet's size.
    for (const q of questions)
      for (const { c, rs } of records)
        for (const r of rs) {
          if (!sameName(q.name, r.name) || ((q.type as string) !== 'ANY' && q.type !== r.type)) continue;
          add(answers, r);
          if (c.kind === 'service') for (const u of uniqueRecords(c, this.host, this.init.address)) add(additionals, u);
        }
    if (answers.length === 0) return;
    if (answers.some((r) => r.type === 'PTR' || r.type === 'SRV'))
      for (const u of uniqueRecords(this.host, this.host, this.init.address)) add(additionals, u);
    const known = (query.answers ?? []) as RecordLike[];
    const now = this.init.clock.monotonic();
    const fresh = (r: RecordLike) =>
      !known.some((k) => sameRecord(k, r) && (k.ttl ?? 0) >= (r.ttl ?? 0) / 2) &&
      now - (this.lastMulticast.get(recordKey(r)) ?? -Infinity) >=
        (probe ? PROBE_DEFENCE_INTERVAL_MS : MIN_MULTICAST_INTERVAL_MS);
    const out = answers.filter(fresh);
    if (out.length === 0 || !this.responses.take('all')) return;
    const extra = additionals.filter(fresh);
    this.init.send({ type: 'response', answers: out, additionals: extra });
    this.markSent([...out, ...extra]);
  }

  private markSent(records: RecordLike[]): void {
    const now = this.init.clock.monotonic();
    // Bounded: old TXT versions leave keys behind; forgetting them only allows one more multicast.
    if (this.lastMulticast.size > 256) this.lastMulticast.clear();
    for (const r of records) this.lastMulticast.set(recordKey(r), now);
  }
}

function recordKey(r: RecordLike): string {
  return `${r.name.toLowerCase()}|${r.type}|${rdata(r).toString('hex')}`;
}
