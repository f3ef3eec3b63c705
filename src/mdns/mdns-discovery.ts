import type { Socket } from 'node:dgram';
import type { AgentContext, AgentExtension } from '../agent/agent.js';
import type { Device } from '../profiles/model.js';
import { FORMAT_VERSION } from '../protocol/codec.js';
import { HttpPeerClient } from '../transport/http-peer-client.js';
import type { PeerClient } from '../transport/transport.js';
import type { Logger } from '../util/logger.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import { Browser } from './browser.js';
import { claimLabel, claimName, newClaim, type Claim } from './claims.js';
import { HintVerifier } from './hints.js';
import { netmaskOf, onLinkOf } from '../transport/on-link.js';
import { MdnsSocket } from './mdns-socket.js';
import { hostLabel, type ServiceSpec } from './records.js';
import { Responder } from './responder.js';
import { deviceTxt, heraldTxt, parseHeraldTxt } from './txt.js';

export interface MdnsInit {
  /** IPv4 address of the one interface mDNS runs on (never every interface). */
  interfaceAddress: string;
  /** Browse `_herald._tcp` and feed verified versions to sync (modes `mdns` and `both`). */
  browse: boolean;
  /** Also publish each device with an HTTP endpoint on this host as `_http._tcp`. */
  publishDevices: boolean;
  /** An unbound UDP socket to use (the benchmark injects loss through it). */
  socket?: Socket;
  /** The client mDNS hints are verified with: the agent's own, signed when a cluster key is set. */
  peers?: PeerClient;
  /** 5353 unless a test says otherwise. */
  port?: number;
}

/**
 * Herald on mDNS/DNS-SD (RFC 6762/6763): the agent as `_herald._tcp` with its version in TXT, so that
 * standard tools (Avahi, Bonjour, python-zeroconf, Home Assistant) see it, and a cluster can sync where
 * raw multicast is barred. See docs/mdns.md.
 *
 * A second responder beside the host's own (avahi), as RFC 6762 §15 allows, that publishes only names it
 * owns: the SRV points at a per-agent host label (`<agent>-herald.local`) with the configured interface's
 * address, never at the host's name, so nothing Herald announces or withdraws touches the host's records
 * or another agent's. Every unique name is probed and defended, renamed on conflict. What it hears is a
 * hint checked with the agent named (hints.ts), never applied as such.
 */
export class MdnsDiscovery implements AgentExtension {
  readonly name = 'mdns';
  private socket: MdnsSocket | undefined;
  private responder: Responder | undefined;
  private browser: Browser | undefined;
  private hints: HintVerifier | undefined;
  private ctx: AgentContext | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly sending = new Set<Promise<void>>();
  private packetsSent = 0;
  private lastError: string | undefined;
  private ownPeers: PeerClient | undefined;
  private stopRequery: (() => void) | undefined;

  constructor(private readonly init: MdnsInit) {}

  private get c(): AgentContext {
    if (!this.ctx) throw new TypeError('mDNS is not started');
    return this.ctx;
  }

  async start(ctx: AgentContext): Promise<void> {
    this.ctx = ctx;
    const log = ctx.logger.child({ component: 'mdns' });
    const address = this.init.interfaceAddress;
    const id = ctx.identity;
    this.socket = this.makeSocket(log);
    this.responder = new Responder(
      {
        address,
        clock: ctx.clock,
        random: ctx.random,
        send: (p) => this.send(p),
        onRenamed: (c, from) => {
          ctx.metrics.mdnsConflicts.inc({ kind: c.kind });
          log.warn({ from, to: claimLabel(c) }, 'mDNS name taken by another responder; renamed (RFC 6762 §9)');
          this.showNames();
        },
        onAnnounced: () => this.showNames(),
      },
      newClaim('host', 'host', hostLabel(id.name)),
    );
    if (this.init.browse) this.makeBrowser(log);
    const internalLog = new RateLimitedLog(ctx.clock, 60_000);
    await this.socket.start((packet, from) => {
      // A packet that passed the checks and still trips the code is counted, never a crash.
      try {
        this.responder?.onPacket(packet);
        this.browser?.onPacket(packet, from.address);
      } catch (err) {
        ctx.metrics.invalidInput.inc({ source: 'mdns', reason: 'internal' });
        if (internalLog.allow('internal')) log.error({ err: (err as Error).message }, 'an mDNS packet was not handled');
      }
    });
    this.responder.setService(newClaim('agent', 'service', `${id.name}@${id.site}`, this.agentSpec()));
    this.unsubscribe = ctx.local.onChange(() => this.onLocalChange());
    if (this.init.publishDevices) this.syncDevices();
    this.responder.start();
    this.browser?.start();
    const browser = this.browser;
    if (browser) this.stopRequery = ctx.sync.onUnreachable((name) => browser.requery((t) => t.name === name));
    log.info({ interface: address, browse: this.init.browse, devices: this.init.publishDevices }, 'mDNS started');
  }

  private makeSocket(log: Logger): MdnsSocket {
    const ctx = this.c;
    const dropLog = new RateLimitedLog(ctx.clock, 60_000);
    const address = this.init.interfaceAddress;
    return new MdnsSocket({
      interfaceAddress: address,
      onLink: onLinkOf(address, netmaskOf(address)),
      clock: ctx.clock,
      socket: this.init.socket,
      port: this.init.port,
      onDrop: (reason, from) => {
        ctx.metrics.invalidInput.inc({ source: 'mdns', reason });
        if (dropLog.allow(reason)) log.warn({ reason, from: `${from.address}:${from.port}` }, 'dropped an mDNS packet');
      },
    });
  }

  /** The browser, and the checks its hints go through before sync hears of them. */
  private makeBrowser(log: Logger): void {
    const ctx = this.c;
    const peers = this.init.peers ?? new HttpPeerClient({ localAddress: this.init.interfaceAddress });
    if (!this.init.peers) this.ownPeers = peers;
    const hints = new HintVerifier({
      site: ctx.identity.site,
      self: ctx.identity.name,
      peers,
      sync: ctx.sync,
      directory: ctx.directory,
      clock: ctx.clock,
      metrics: ctx.metrics,
      logger: log,
      timeoutMs: 2000,
    });
    this.hints = hints;
    this.browser = new Browser({
      type: '_herald._tcp.local',
      clock: ctx.clock,
      random: ctx.random,
      send: (p) => this.send(p),
      onAdvert: (_instance, txt, port, from) => this.onAdvert(txt, port, from),
      // Unchanged: straight to sync, whose refresh probes (with a key) rather than believes.
      onRefresh: (_instance, txt, port, from) => {
        const t = parseHeraldTxt(txt);
        if (t) ctx.sync.observeRefresh({ ...t, address: from, peerPort: port });
      },
      onGoodbye: (_instance, txt) => {
        const t = parseHeraldTxt(txt);
        if (t) hints.goodbye(t.name);
      },
      onDrop: (reason) => ctx.metrics.invalidInput.inc({ source: 'mdns', reason }),
      own: () => this.ownInstances(),
    });
  }

  async stop(opts: { goodbye?: boolean } = {}): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    this.unsubscribe?.();
    this.stopRequery?.();
    this.browser?.stop();
    this.hints?.stop();
    this.responder?.stop(opts.goodbye ?? true);
    this.socket = undefined;
    await Promise.allSettled([...this.sending]);
    await socket.stop();
    await this.ownPeers?.close();
  }

  health(): { ok: boolean; detail?: string } {
    const names = this.responder?.claims().map((c) => `${claimLabel(c)} ${c.state}`) ?? [];
    const error = this.lastError ? `; last error: ${this.lastError}` : '';
    return { ok: true, detail: `${this.packetsSent} packets sent; ${names.join(', ')}${error}` };
  }

  private send(packet: Parameters<MdnsSocket['send']>[0] | object): void {
    const socket = this.socket;
    if (!socket) return;
    this.packetsSent += 1;
    this.c.metrics.announcementsSent.inc({ type: 'mdns' });
    const p = socket.send(packet as Parameters<MdnsSocket['send']>[0]).catch((err: unknown) => {
      this.lastError = (err as Error).message;
    });
    this.sending.add(p);
    void p.finally(() => this.sending.delete(p));
  }

  private ownInstances(): string[] {
    const agent = this.responder?.claims().find((c) => c.key === 'agent');
    return agent?.state === 'announced' ? [claimName(agent)] : [];
  }

  private showNames(): void {
    const r = this.responder;
    if (!r) return;
    const agent = r.claims().find((c) => c.key === 'agent');
    if (agent?.state !== 'announced') return;
    this.c.directory.setMdnsNames(this.c.identity.name, {
      instance: claimLabel(agent),
      host: `${claimLabel(r.host)}.local`,
    });
  }

  private agentSpec(): ServiceSpec {
    const id = this.c.identity;
    const txt = heraldTxt({
      name: id.name,
      site: id.site,
      incarnation: id.incarnation,
      version: this.c.local.currentVersion,
      path: '/v1/peer',
      format: FORMAT_VERSION,
    });
    return { instance: `${id.name}@${id.site}`, type: '_herald._tcp', port: id.peerPort, txt };
  }

  private onLocalChange(): void {
    const id = this.c.identity;
    this.responder?.setService(newClaim('agent', 'service', `${id.name}@${id.site}`, this.agentSpec()));
    if (this.init.publishDevices) this.syncDevices();
  }

  private onAdvert(txt: Record<string, string>, port: number, from: string): void {
    const t = parseHeraldTxt(txt);
    if (!t) return this.c.metrics.invalidInput.inc({ source: 'mdns', reason: 'txt' });
    // Heard, not believed: what sync applies comes from the probe the hint leads to.
    this.c.metrics.announcementsReceived.inc({ type: 'mdns-advert' });
    this.hints?.advert(t.name, t.site, t.incarnation, t.version, { address: from, port });
  }

  /** Devices with an HTTP endpoint on this host, as `_http._tcp` services: published, updated, withdrawn. */
  private syncDevices(): void {
    const r = this.responder;
    if (!r) return;
    const wanted = new Map<string, Claim>();
    for (const device of this.c.local.devices()) {
      const spec = this.deviceSpec(device);
      if (spec) wanted.set(`device:${device.id}`, newClaim(`device:${device.id}`, 'service', spec.instance, spec));
    }
    for (const c of r.claims()) if (c.key.startsWith('device:') && !wanted.has(c.key)) r.removeService(c.key);
    for (const c of wanted.values()) {
      const held = r.claims().find((h) => h.key === c.key);
      if (!held || JSON.stringify(held.spec) !== JSON.stringify(c.spec)) r.setService(c);
    }
  }

  private deviceSpec(device: Device): ServiceSpec | undefined {
    const id = this.c.identity;
    for (const cap of device.capabilities) {
      if (!cap.endpoint) continue;
      let url: URL;
      try {
        url = new URL(cap.endpoint);
      } catch {
        continue;
      }
      const http = url.protocol === 'http:' || url.protocol === 'https:';
      if (!http || (url.hostname !== id.address && url.hostname !== id.host)) continue;
      const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
      const instance = `${device.name} (${id.name})`.slice(0, 63);
      return { instance, type: '_http._tcp', port, txt: deviceTxt(id.name, device, url.pathname) };
    }
    return undefined;
  }
}
