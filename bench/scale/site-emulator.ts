import { createSocket, type Socket } from 'node:dgram';
import { computeDelta } from '../../src/directory/delta.js';
import { decodeBeat, encodeBeat, isBeat, type Beat } from '../../src/protocol/beat.js';
import { Directory } from '../../src/directory/directory.js';
import { PeerHttpServer } from '../../src/http/peer-server.js';
import { decodeMessage, DecodeError, encodeMessage } from '../../src/protocol/codec.js';
import { HmacEnvelope } from '../../src/protocol/hmac-envelope.js';
import { fnv1a32, incarnationTag, MESSAGE_TYPE_NAMES, MessageType, type Message } from '../../src/protocol/messages.js';
import { parseKeyRing } from '../../src/security/cluster-key.js';
import { PeerAuth } from '../../src/security/peer-auth.js';
import { SOLICIT_ANSWERS } from '../../src/sync/announcer.js';
import { syncDefaults } from '../../src/sync/config.js';
import { HeartbeatInterval } from '../../src/sync/heartbeat-interval.js';
import { DirectoryPeerService, helloOf } from '../../src/sync/peer-service.js';
import { Ring } from '../../src/sync/ring.js';
import type { Endpoint } from '../../src/transport/transport.js';
import { systemClock } from '../../src/util/clock.js';
import { jitter, seededRandom, type Random } from '../../src/util/random.js';
import {
  emulatedAddress,
  emulatedDevice,
  newCounts,
  type EmulatedAgent,
  type EmulatorCounts,
  type EmulatorInit,
} from './emulated-agent.js';

export { emulatedAddress, type EmulatorCounts, type EmulatorInit } from './emulated-agent.js';

/**
 * The rest of a site, around one real agent: each emulated agent has its name, incarnation, devices,
 * loopback address, datagram socket and peer endpoint (Herald's own PeerHttpServer and
 * DirectoryPeerService, signed with the cluster key), multicasts its heartbeat at the interval
 * HeartbeatInterval gives the site's size, answers a solicit as Announcer does, and sends the measured
 * agent the unicast heartbeat of a monitored subject each liveness period (ring.ts), as a beat (beat.ts). What emulated agents
 * would say only to each other (their own monitors' unicast) is left out: it never reaches the measured one.
 */
export class SiteEmulator {
  private readonly agents: EmulatedAgent[] = [];
  private readonly clock = systemClock();
  private readonly random: Random;
  private readonly envelope: HmacEnvelope;
  private readonly auth: PeerAuth;
  private readonly directory: Directory;
  private readonly cfg;
  /**
   * One for the whole emulated site: every agent's mean heartbeat size is fed by the same multicast
   * heartbeats (each hears the site's), so their intervals are the same function of the site's size.
   */
  private readonly interval: HeartbeatInterval;
  private group: Socket | undefined;
  private livenessTimer: NodeJS.Timeout | undefined;
  /** The measured agent's datagram endpoint, as its datagrams' source shows it. */
  private measuredAt: Endpoint | undefined;
  private subjects: EmulatedAgent[] = [];
  readonly counts: EmulatorCounts = newCounts();

  constructor(private readonly init: EmulatorInit) {
    const keys = parseKeyRing(init.key);
    this.random = seededRandom(init.seed);
    this.envelope = new HmacEnvelope(keys, this.clock);
    this.auth = new PeerAuth(keys, this.clock);
    this.directory = new Directory({ clock: this.clock }, { site: init.site });
    this.cfg = syncDefaults({ name: init.measured, site: init.site, incarnation: 1, peerPort: 1 });
    this.interval = new HeartbeatInterval(this.cfg.heartbeatMs, this.cfg.heartbeatScaling);
  }

  /** Members as every agent of the emulated site sees it: all alive, the measured one included. */
  get members(): number {
    return this.init.peers + 1;
  }

  /** The mean multicast heartbeat interval of each emulated agent now, as HeartbeatInterval gives it. */
  meanIntervalMs(): number {
    return this.interval.meanMs(this.members);
  }

  async start(): Promise<void> {
    const born = Date.now();
    for (let i = 0; i < this.init.peers; i++) this.agents.push(await this.startAgent(i, born + i));
    const ring = new Ring([this.init.measured, ...this.agents.map((a) => a.name)]);
    this.subjects = this.agents.filter((a) => ring.watches(this.init.measured, a.name));
    this.group = await this.listenGroup();
    for (const a of this.agents) this.newCycle(a);
    this.livenessTick();
  }

  async stop(): Promise<void> {
    clearTimeout(this.livenessTimer);
    this.group?.close();
    for (const a of this.agents) {
      clearTimeout(a.timer);
      a.udp.close();
      await a.server.stop();
    }
  }

  private async startAgent(i: number, incarnation: number): Promise<EmulatedAgent> {
    const name = `${this.init.site}-e${i}`;
    const address = emulatedAddress(i);
    const service = new DirectoryPeerService({
      directory: this.directory,
      identity: this.identity(name, incarnation),
      onServed: (route) => (route === 'changes' ? this.counts.changes++ : this.counts.hellos++),
    });
    const server = new PeerHttpServer(
      service,
      { host: address, port: 0 },
      {
        auth: this.auth,
        onRejected: (reason) => (this.counts.refused[reason] = (this.counts.refused[reason] ?? 0) + 1),
      },
    );
    const peerPort = (await server.start()).port;
    const devices = Array.from({ length: this.init.devicesPerPeer }, (_, k) => emulatedDevice(name, k, address));
    this.directory.ensureOrigin(name, { address, peerPort });
    this.directory.applyDeltas(name, incarnation, [computeDelta(new Map(), devices, 1)]);
    const udp = createSocket({ type: 'udp4' });
    udp.on('message', (data: Buffer, from: Endpoint) => this.onUnicast(data, from));
    await new Promise<void>((resolve) => udp.bind(0, address, resolve));
    udp.setMulticastInterface('127.0.0.1');
    udp.setMulticastTTL(1);
    const cycle = { start: 0, factor: 1 };
    return {
      name,
      incarnation,
      address,
      peerPort,
      udp,
      server,
      phased: false,
      cycle,
      solicited: false,
      multicastAt: -Infinity,
    };
  }

  /** Herald's own hello, its summary without the answering agent itself (as a real agent's directory has it local). */
  private identity(name: string, incarnation: number): (withPeers: boolean) => ReturnType<ReturnType<typeof helloOf>> {
    const hello = helloOf({ name, site: this.init.site, incarnation }, () => 1, this.directory);
    return (withPeers) => {
      const h = hello(withPeers);
      if (withPeers) this.counts.summaries++;
      if (h.peers) h.peers = h.peers.filter((p) => p.name !== name);
      return h;
    };
  }

  private async listenGroup(): Promise<Socket> {
    const s = createSocket({ type: 'udp4', reuseAddr: true });
    s.on('message', (data: Buffer, from: Endpoint) => this.onGroup(data, from));
    await new Promise<void>((resolve) => s.bind(this.init.port, this.init.group, resolve));
    s.addMembership(this.init.group, '127.0.0.1');
    return s;
  }

  /**
   * The site's multicast: every heartbeat sizes the interval (as sizesInterval does on a keyed site); the
   * measured agent's datagrams give its endpoint, and a solicit of it is answered.
   */
  private onGroup(data: Buffer, from: Endpoint): void {
    const msg = this.decode(data);
    if (msg?.type === MessageType.heartbeat) this.interval.sized(data.length);
    if (msg?.name !== this.init.measured) return;
    this.measuredAt = from;
    const type = MESSAGE_TYPE_NAMES[msg.type];
    this.counts.multicastFromMeasured[type] = (this.counts.multicastFromMeasured[type] ?? 0) + 1;
    this.counts.multicastBytesFromMeasured += data.length;
    if (msg.type === MessageType.solicit) for (const a of this.agents) this.replyToSolicit(a);
  }

  /** The measured agent's beats to its monitors (a keyed site's unicast heartbeats, beat.ts). */
  private onUnicast(data: Buffer, from: Endpoint): void {
    if (!isBeat(data) || this.open(data)?.self.nameHash !== fnv1a32(this.init.measured)) return;
    this.measuredAt = from;
    this.counts.unicastFromMeasured++;
    this.counts.unicastBytesFromMeasured += data.length;
  }

  private open(data: Buffer): Beat | undefined {
    try {
      return decodeBeat(this.envelope.open(data));
    } catch (err) {
      if (err instanceof DecodeError) return undefined;
      throw err;
    }
  }

  private decode(data: Buffer): Message | undefined {
    try {
      const msg = decodeMessage(this.envelope.open(data));
      return msg.site === this.init.site ? msg : undefined;
    } catch (err) {
      if (err instanceof DecodeError) return undefined;
      throw err;
    }
  }

  /** Announcer.replyToSolicit: on a scaled site about SOLICIT_ANSWERS agents answer, within the reply window. */
  private replyToSolicit(a: EmulatedAgent): void {
    if (a.solicited) return;
    if (this.interval.scaled(this.members) && this.random() * this.members >= SOLICIT_ANSWERS) return;
    a.solicited = true;
    this.schedule(a, this.random() * this.cfg.solicitReplyWindowMs);
  }

  /** Announcer.newCycle: the first stretched wait anywhere in one interval, then 0.5–1.5 intervals. */
  private newCycle(a: EmulatedAgent): void {
    const members = this.members;
    const now = performance.now();
    if (!this.interval.scaled(members)) {
      a.cycle = { start: now, factor: 1 };
      return this.schedule(a, jitter(this.random, this.cfg.heartbeatMs, 0.2));
    }
    const factor = a.phased ? this.interval.factor(this.random, members) : this.random();
    a.phased = true;
    a.cycle = { start: now, factor };
    this.schedule(a, this.interval.meanMs(members) * factor);
  }

  /** Announcer.schedule, forward reconsideration included: the mean size moved since the wait was drawn. */
  private schedule(a: EmulatedAgent, delay: number): void {
    clearTimeout(a.timer);
    a.timer = setTimeout(() => {
      const now = performance.now();
      const due = a.cycle.start + this.interval.meanMs(this.members) * a.cycle.factor;
      if (!a.solicited && this.interval.scaled(this.members) && due > now + 1) return this.schedule(a, due - now);
      a.solicited = false;
      this.send(a);
      a.multicastAt = now;
      this.newCycle(a);
    }, delay);
  }

  /** A heartbeat of `a`, to the group or (`to`) one agent's datagram endpoint. */
  private send(a: EmulatedAgent, to?: Endpoint): void {
    const msg: Message = {
      type: MessageType.heartbeat,
      site: this.init.site,
      name: a.name,
      incarnation: a.incarnation,
      version: 1,
      peerPort: a.peerPort,
      hints: [],
    };
    if (this.interval.scaled(this.members)) msg.intervalMs = this.interval.meanMs(this.members);
    // To a monitor, a keyed site's agent sends a beat: itself as a hint (Announcer.heartbeatMonitors).
    const self = { nameHash: fnv1a32(a.name), incarnationTag: incarnationTag(a.incarnation), version: msg.version };
    const bytes = to ? encodeBeat({ self, hints: [] }) : encodeMessage(msg, { reserve: this.envelope.overhead }).bytes;
    const sealed = this.envelope.seal(bytes);
    if (to) {
      a.udp.send(sealed, to.port, to.address);
      this.counts.unicastSent++;
      this.counts.unicastBytesSent += sealed.length;
    } else {
      a.udp.send(sealed, this.init.port, this.init.group);
      this.counts.multicastSent++;
      this.counts.multicastBytesSent += sealed.length;
    }
  }

  /**
   * Announcer.heartbeatMonitors for the subjects the measured agent monitors: a unicast heartbeat each
   * liveness period while the multicast interval is longer, skipped in a period after a multicast.
   */
  private livenessTick(): void {
    this.livenessTimer = setTimeout(() => {
      const now = performance.now();
      const to = this.measuredAt;
      for (const a of this.subjects) {
        if (!to || this.interval.meanMs(this.members) <= this.cfg.livenessPeriodMs) continue;
        if (now - a.multicastAt >= this.cfg.livenessPeriodMs) this.send(a, to);
      }
      this.livenessTick();
    }, this.cfg.livenessPeriodMs);
  }
}
