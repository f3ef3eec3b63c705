import type { Clock, TimerHandle } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { DecodedPacket } from './mdns-socket.js';
import { OTHER_TTL, sameName, type RecordLike } from './records.js';

/** Instances of the browsed type held at once: a flood of fake names cannot grow memory (issue 16 item 7). */
export const MAX_INSTANCES = 256;
const MAX_QUERY_INTERVAL_MS = 3_600_000; // RFC 6762 §5.2
const MAX_KNOWN_ANSWERS = 40;
/** §10.4 re-queries of one instance: the first at once, then no sooner than 1 s, doubling to a minute. */
const REQUERY_MIN_MS = 1000;
const REQUERY_MAX_MS = 60_000; // what fits one packet well below 1,500 bytes with Herald's instance names

export interface BrowserInit {
  /** `_herald._tcp.local` */
  type: string;
  clock: Clock;
  random: Random;
  send(packet: { type: 'query'; questions: unknown[]; answers: unknown[] }): void;
  /** An instance appeared or its SRV/TXT changed; `from` is the on-link sender of the packet. */
  onAdvert(instance: string, txt: Record<string, string>, port: number, from: string): void;
  /** An instance announced or answered again, unchanged: sync decides what hearing it is worth. */
  onRefresh?(instance: string, txt: Record<string, string>, port: number, from: string): void;
  /** A PTR with TTL 0 for a known instance (a goodbye, or someone saying so). */
  onGoodbye(instance: string, txt: Record<string, string>, from: string): void;
  onDrop(reason: 'too-many-instances'): void;
  /** This host's own instances of the type: listed as known, so that every browser on a link lists the
   * same set and duplicate-question suppression can work (otherwise each list lacks its own instance). */
  own?(): string[];
}

interface Entry {
  expiresAt: number;
  ttl: number;
  port?: number;
  txt?: Record<string, string>;
  /** `port|txt` last reported, so an unchanged re-announcement reports nothing. */
  reported?: string;
  /** §10.4 re-queries: the earliest time of the next one, and the gap after it. */
  requeryAt?: number;
  requeryGap?: number;
}

/**
 * Browses one service type (RFC 6763 §4) with continuous querying at doubling intervals (RFC 6762
 * §5.2), known-answer suppression (§7.1: each query lists the instances already held with more than half
 * their TTL left, and responders leave those out) and duplicate-question suppression (§7.3: another host's
 * query that lists no less than ours would counts as ours). Each packet is read in one pass over its
 * records, with map lookups: linear in its size.
 */
export class Browser {
  private readonly cache = new Map<string, Entry>();
  private timer: TimerHandle | undefined;
  private interval = 1000;
  private stopped = false;

  constructor(private readonly init: BrowserInit) {}

  start(): void {
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    this.init.clock.clearTimeout(this.timer);
  }

  /**
   * RFC 6762 §10.4 "cache flush on failure indication": the service at what an instance's records say
   * does not answer, so its SRV and TXT are asked for again; a live responder answers with where it is
   * now. Unlike the PTR query, this question lists no known answer that could suppress the reply. Rate
   * limited per instance, backing off while the instance stays unchanged.
   */
  requery(which: (txt: Record<string, string>) => boolean): void {
    if (this.stopped) return;
    const now = this.init.clock.monotonic();
    for (const [instance, e] of this.cache) {
      if (!e.txt || !which(e.txt) || now < (e.requeryAt ?? 0)) continue;
      const gap = e.requeryGap ?? REQUERY_MIN_MS;
      e.requeryAt = now + gap;
      e.requeryGap = Math.min(gap * 2, REQUERY_MAX_MS);
      const questions = [
        { name: instance, type: 'SRV' },
        { name: instance, type: 'TXT' },
      ];
      this.init.send({ type: 'query', questions, answers: [] });
    }
  }

  onPacket(packet: DecodedPacket, from: string): void {
    if (this.stopped) return;
    if (packet.type === 'query') this.onQuery(packet);
    else this.onResponse(packet, from);
  }

  /**
   * Each query a random 20–120 ms plus up to a tenth of the interval late: browsers that heard the same
   * query would otherwise all ask again at the same instant, before hearing each other (§7.3 needs one
   * of them to go first).
   */
  private schedule(interval: number): void {
    const delay = interval + 20 + this.init.random() * (100 + interval / 10);
    this.init.clock.clearTimeout(this.timer);
    this.timer = this.init.clock.setTimeout(() => this.query(), delay);
    this.timer.unref?.();
  }

  private query(): void {
    if (this.stopped) return;
    this.init.send({ type: 'query', questions: [{ name: this.init.type, type: 'PTR' }], answers: this.knownAnswers() });
    this.asked();
  }

  /** A query went out, ours or one as good as ours: the next one is an interval away, which then doubles. */
  private asked(): void {
    this.schedule(this.interval);
    this.interval = Math.min(this.interval * 2, MAX_QUERY_INTERVAL_MS);
  }

  private knownAnswers(): RecordLike[] {
    const now = this.init.clock.monotonic();
    const out: RecordLike[] = (this.init.own?.() ?? []).map((data) => ({
      name: this.init.type,
      type: 'PTR',
      class: 'IN',
      ttl: OTHER_TTL,
      data,
    }));
    for (const [instance, e] of this.cache) {
      const left = Math.floor((e.expiresAt - now) / 1000);
      if (left <= 0) this.cache.delete(instance);
      else if (left > e.ttl / 2 && out.length < MAX_KNOWN_ANSWERS)
        out.push({ name: this.init.type, type: 'PTR', class: 'IN', ttl: left, data: instance });
    }
    return out;
  }

  /**
   * §7.3: someone else asked our question and lists as known no answer that we would not list too, so
   * every answer we would draw is drawn by theirs: ours counts as sent. (If they list one we lack, that
   * responder stays quiet for them, and we must ask ourselves.)
   */
  private onQuery(packet: DecodedPacket): void {
    const asks = (packet.questions ?? []).some((q) => q.type === 'PTR' && sameName(q.name, this.init.type));
    if (!asks || this.timer === undefined) return;
    const mine = new Set(this.knownAnswers().map((k) => String(k.data).toLowerCase()));
    const theirs = ((packet.answers ?? []) as RecordLike[]).filter(
      (a) => a.type === 'PTR' && sameName(a.name, this.init.type),
    );
    if (theirs.every((a) => mine.has(String(a.data).toLowerCase()))) this.asked();
  }

  private onResponse(packet: DecodedPacket, from: string): void {
    const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])] as RecordLike[];
    const now = this.init.clock.monotonic();
    const touched = new Set<string>();
    const byName = new Map<string, RecordLike[]>();
    for (const r of records) {
      const key = r.name.toLowerCase();
      const list = byName.get(key);
      if (list) list.push(r);
      else byName.set(key, [r]);
      if (r.type !== 'PTR' || !sameName(r.name, this.init.type) || typeof r.data !== 'string') continue;
      const instance = r.data.toLowerCase();
      const held = this.cache.get(instance);
      if ((r.ttl ?? 0) === 0) {
        if (held?.txt) this.init.onGoodbye(instance, held.txt, from);
        this.cache.delete(instance);
        continue;
      }
      if (!held && this.cache.size >= MAX_INSTANCES) {
        this.init.onDrop('too-many-instances');
        continue;
      }
      const ttl = Math.min(r.ttl ?? OTHER_TTL, OTHER_TTL);
      this.cache.set(instance, { ...held, ttl, expiresAt: now + ttl * 1000 });
      touched.add(instance);
    }
    // SRV and TXT of instances held already (a TXT update alone) or named by a PTR in this packet.
    for (const [name, list] of byName) {
      const entry = this.cache.get(name);
      if (!entry) continue;
      for (const r of list) {
        if ((r.ttl ?? 0) === 0) continue;
        if (r.type === 'SRV') entry.port = (r.data as { port: number }).port;
        else if (r.type === 'TXT') entry.txt = parseTxt(r.data);
        else continue;
        touched.add(name);
      }
    }
    for (const instance of touched) this.report(instance, from);
  }

  private report(instance: string, from: string): void {
    const e = this.cache.get(instance);
    if (!e || e.port === undefined || !e.txt) return;
    const now = `${e.port}|${from}|${JSON.stringify(e.txt)}`;
    if (now === e.reported) return this.init.onRefresh?.(instance, e.txt, e.port, from);
    e.reported = now;
    e.requeryAt = undefined;
    e.requeryGap = undefined;
    this.init.onAdvert(instance, e.txt, e.port, from);
  }
}

/** TXT strings `key=value` (RFC 6763 §6.3); the first occurrence of a key wins (§6.4). */
export function parseTxt(data: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const parts = Array.isArray(data) ? data : [data];
  for (const p of parts) {
    const s = Buffer.isBuffer(p) ? p.toString('utf8') : typeof p === 'string' ? p : '';
    const eq = s.indexOf('=');
    const key = (eq < 0 ? s : s.slice(0, eq)).toLowerCase();
    if (key && !(key in out)) out[key] = eq < 0 ? '' : s.slice(eq + 1);
  }
  return out;
}
