import { randomBytes } from 'node:crypto';
import type { Delta } from '../directory/delta.js';
import { challengeKind, decodeChallenge, decodeEcho, encodeChallenge, encodeEcho } from '../protocol/challenge.js';
import type { Echo } from '../protocol/challenge.js';
import { fnv1a32, type Message } from '../protocol/messages.js';
import type { Endpoint } from '../transport/transport.js';
import type { TimerHandle } from '../util/clock.js';
import { TokenBuckets } from '../util/token-bucket.js';
import type { Catchup } from './catchup.js';
import { SYNC_LIMITS } from './config.js';
import { noteFirstCopy } from './first-copies.js';
import type { FirstHandWords } from './first-hand-words.js';
import type { OriginReplica } from './origin-replica.js';
import { sameEndpoint, type Peer } from './peer-table.js';
import type { SyncContext } from './sync-context.js';

/**
 * How long a challenge waits for its echo, in liveness periods (stretched by this agent's late turns), before the
 * catch-up it stood in for goes. Half a period was too short on real sockets: 50 agents sharing a loaded process
 * (load 8-14) read 1,207 of 1,225 echoes after it, each then a catch-up as before.
 */
export const ECHO_WAIT_PERIODS = 1;

/** Echoes this agent sends at most, a second and at once: a newcomer of a site of 1,000 is challenged ~999 times. */
export const ECHO_RATE = 256;
export const ECHO_BURST = SYNC_LIMITS.peers;

/** A challenge out: the announcement it holds back, and the digest its echo must name. */
interface Pending {
  peer: Peer;
  life: OriginReplica;
  delta: Delta;
  to: Endpoint;
  digest: string;
  timer: TimerHandle;
}

/**
 * An open site's check of an unsigned announcement by datagram (docs/protocol.md, *An announcer's check by
 * datagram*). An announcement of an agent not yet verified was applied only after a catch-up at its endpoint (a TCP
 * connection, an HTTP request and its whole set): in a cold start of N every running agent made one for each
 * newcomer, N(N-1)/2 of them (20,537 at 200 in the simulator). Instead the announcement is held and a nonce goes to
 * the datagram endpoint it came from; the agent there, if it is the one named, echoes the nonce with its life,
 * version and set digest. An off-path forger sees no nonce, so an echo naming it came from that endpoint; a digest
 * equal to the one the held delta would make proves the delta is the announcer's. Then the delta is applied and the
 * peer verified, as the catch-up would have. Anything else (no echo in ECHO_WAIT_PERIODS, another life, version or
 * digest, an older release that drops the datagram as an unknown type) goes back to that catch-up.
 */
export class AnnounceChallenges {
  private readonly pending = new Map<string, Pending>();
  /** The counter-nonces of this agent's echoes, by nonce: where each went, and when (answered once, in time). */
  private readonly counters = new Map<string, { to: Endpoint; at: number }>();
  private readonly echoes: TokenBuckets;

  constructor(
    private readonly s: SyncContext,
    private readonly hooks: {
      /** The site has a key: its announcements are signed, never challenged. */
      keyed: boolean;
      catchup: () => Pick<Catchup, 'want'>;
      /** Where what a challenger says of itself, asked back by an echo's counter-nonce, is kept. */
      words: FirstHandWords;
      /** The wait for an echo, stretched by this agent's own late turns (LocalHealth.turnsDeadline). */
      deadline: (ms: number) => number;
    },
    /** Unpredictable bytes (a forger that guessed a nonce could answer for any address): crypto's by default. */
    private readonly nonce: (bytes: number) => Uint8Array = randomBytes,
  ) {
    this.echoes = new TokenBuckets(s.c.clock, ECHO_RATE, ECHO_BURST, 1);
  }

  /**
   * Whether this unsigned announcement, from the peer's address (`from`: the datagram endpoint it came from), is
   * held for a challenge instead of a catch-up: only the next version of the life held, whose catch-up is not under
   * way, within the bound of challenges out (one per unverified peer).
   */
  ask(peer: Peer, msg: Message, from: Endpoint): boolean {
    const [transport, r, delta] = [this.s.c.transport, peer.replica, msg.delta];
    if (this.hooks.keyed || !transport || !delta || r.previous || r.left || r.catchup.kind !== 'idle') return false;
    if (msg.incarnation !== r.incarnation) return false;
    const digest = this.s.c.directory.setDigestAfter(peer.name, r.incarnation, delta);
    if (digest === undefined) return false;
    if (this.pending.size >= SYNC_LIMITS.unverifiedPeers) this.prune();
    if (this.pending.size >= SYNC_LIMITS.unverifiedPeers) {
      this.s.c.metrics.announceChallenges.inc({ result: 'skipped' });
      return false;
    }
    r.know(msg.version);
    const nonce = Uint8Array.from(this.nonce(8));
    const key = Buffer.from(nonce).toString('hex');
    const waitMs = this.hooks.deadline(ECHO_WAIT_PERIODS * this.s.cfg.livenessPeriodMs);
    // Judged after the datagrams read in that turn (defer): a late loop runs due timers before it reads its sockets.
    const defer = this.s.c.defer ?? ((work: () => void) => work());
    const timer = this.s.c.clock.setTimeout(() => defer(() => this.unanswered(key)), waitMs);
    // Waiting: what names a version meanwhile (hints, heartbeats) starts no catch-up while the echo may come.
    r.catchup = { kind: 'waiting', timer };
    this.pending.set(key, { peer, life: r, delta, to: from, digest, timer });
    transport.sendTo(encodeChallenge({ nonce, nameHash: fnv1a32(peer.name) }), from);
    this.s.c.metrics.announceChallenges.inc({ result: 'sent' });
    return true;
  }

  /** A challenge or an echo, opened by the envelope; a malformed one throws a DecodeError (counted by the caller). */
  receive(bytes: Uint8Array, from: Endpoint): void {
    if (challengeKind(bytes) === 'challenge') this.answer(bytes, from);
    else this.echoed(decodeEcho(bytes), from);
  }

  /** Echoes a challenge that names this agent, within ECHO_RATE; never larger than the challenge (challenge.ts). */
  private answer(bytes: Uint8Array, from: Endpoint): void {
    const c = decodeChallenge(bytes);
    const transport = this.s.c.transport;
    const held = this.s.c.directory.held(this.s.cfg.name);
    const setDigest = this.s.c.directory.setDigest(this.s.cfg.name);
    if (c.nameHash !== fnv1a32(this.s.cfg.name) || this.hooks.keyed || !transport || !held || setDigest === undefined)
      return this.s.c.metrics.invalidInput.inc({ source: 'datagram', reason: 'challenge-not-ours' });
    if (!this.echoes.take('echo')) return this.s.c.metrics.announceChallenges.inc({ result: 'refused' });
    const counter = this.counter(from);
    const echo = encodeEcho({ ...c, incarnation: this.s.cfg.incarnation, version: held.version, setDigest, counter });
    if (echo.length > bytes.length) return this.s.c.metrics.announceChallenges.inc({ result: 'refused' });
    transport.sendTo(echo, from);
    this.s.c.metrics.announceChallenges.inc({ result: 'echoed' });
  }

  /** A counter-nonce for the challenger at `from` (its reply echo is its word, first-hand-words.ts); bounded. */
  private counter(to: Endpoint): Uint8Array {
    const now = this.s.c.clock.monotonic();
    const periods = 2 * this.s.cfg.livenessPeriodMs;
    if (this.counters.size >= SYNC_LIMITS.peers)
      for (const [key, c] of this.counters) if (now - c.at > periods) this.counters.delete(key);
    const nonce = Uint8Array.from(this.nonce(8));
    if (this.counters.size < SYNC_LIMITS.peers) this.counters.set(Buffer.from(nonce).toString('hex'), { to, at: now });
    return nonce;
  }

  /** An echo: of a challenge out, from the endpoint it went to, else hostile (or very late) and dropped. */
  private echoed(e: Echo, from: Endpoint): void {
    const key = Buffer.from(e.nonce).toString('hex');
    const p = this.pending.get(key);
    if (!p || !sameEndpoint(p.to, from)) return this.word(key, e, from);
    this.settle(key, p);
    if (e.counter) this.reply(e.counter, from);
    const { peer, life, delta } = p;
    if (this.s.peers.get(peer.name) !== peer || peer.replica !== life) return;
    const named = e.nameHash === fnv1a32(peer.name) && e.incarnation === life.incarnation;
    if (!named || e.version !== delta.version || e.setDigest !== p.digest) {
      this.s.c.metrics.announceChallenges.inc({ result: 'mismatch' });
      this.s.c.metrics.invalidInput.inc({ source: 'sync', reason: 'echo-mismatch' });
      return this.hooks.catchup().want(peer, life.target, 'unverified');
    }
    this.s.c.metrics.announceChallenges.inc({ result: 'confirmed' });
    const before = life.heldVersion();
    const result = life.apply(delta, this.s.cfg.reorderGraceMs);
    if (result === 'applied') this.s.hints.note(peer.name, life.incarnation, life.heldVersion(), delta.version > 1);
    if (result === 'applied') noteFirstCopy(this.s, life, before, 'announcement');
    else if (result === 'refused') this.s.bounds.hit('devices-held', { agent: peer.name });
    if (!peer.verified) queueMicrotask(() => this.s.placeFreed());
    this.s.peers.verify(peer);
    this.hooks.catchup().want(peer, life.target, 'announce-gap');
  }

  /** A reply echo of a counter-nonce, from where it went: the challenger's word of itself. Else hostile, dropped. */
  private word(key: string, e: Echo, from: Endpoint): void {
    const c = this.counters.get(key);
    if (!c || !sameEndpoint(c.to, from) || e.counter)
      return this.s.c.metrics.invalidInput.inc({ source: 'datagram', reason: 'echo-unasked' });
    this.counters.delete(key);
    const word = { incarnation: e.incarnation, version: e.version, setDigest: e.setDigest, from, at: c.at };
    this.hooks.words.note(e.nameHash, word);
    this.s.c.metrics.announceChallenges.inc({ result: 'word' });
  }

  /** Says who this agent is to the endpoint it challenged, whose echo asked back (once a challenge, within rate). */
  private reply(counter: Uint8Array, to: Endpoint): void {
    const [transport, held] = [this.s.c.transport, this.s.c.directory.held(this.s.cfg.name)];
    const setDigest = this.s.c.directory.setDigest(this.s.cfg.name);
    if (!transport || !held || setDigest === undefined || !this.echoes.take('echo')) return;
    const reply = {
      nonce: counter,
      nameHash: fnv1a32(this.s.cfg.name),
      incarnation: this.s.cfg.incarnation,
      setDigest,
    };
    transport.sendTo(encodeEcho({ ...reply, version: held.version }), to);
    this.s.c.metrics.announceChallenges.inc({ result: 'replied' });
  }

  /** No echo in time (lost either way, an older release, nothing there): the catch-up it stood in for goes now. */
  private unanswered(key: string): void {
    const p = this.pending.get(key);
    if (!p) return;
    this.settle(key, p);
    this.s.c.metrics.announceChallenges.inc({ result: 'unanswered' });
    const { peer, life } = p;
    if (this.s.running() && this.s.peers.get(peer.name) === peer && peer.replica === life)
      this.hooks.catchup().want(peer, life.target, 'unverified');
  }

  /** Challenges whose life moved on (a new life, a goodbye: retire() cleared their wait) go, echoed or not. */
  private prune(): void {
    for (const [key, p] of this.pending)
      if (p.life.catchup.kind !== 'waiting' || p.life.catchup.timer !== p.timer) this.pending.delete(key);
  }

  /** The challenge is over: its wait ends, and the catch-up state is free again if it is still the challenge's. */
  private settle(key: string, p: Pending): void {
    this.pending.delete(key);
    this.s.c.clock.clearTimeout(p.timer);
    if (p.life.catchup.kind === 'waiting' && p.life.catchup.timer === p.timer) p.life.catchup = { kind: 'idle' };
  }
}
