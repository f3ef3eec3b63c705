import BonjourPkg from 'bonjour-service';
import type { AgentContext, AgentExtension } from '../agent/agent.js';
import type { Device } from '../profiles/model.js';
import { FORMAT_VERSION } from '../protocol/codec.js';
import type { Logger } from '../util/logger.js';
import type { TimerHandle } from '../util/clock.js';
import { deviceTxt, heraldTxt, parseHeraldTxt } from './txt.js';

const { Bonjour, Service } = BonjourPkg;
type BonjourInstance = InstanceType<typeof Bonjour>;
type ServiceInstance = InstanceType<typeof Service>;
type BrowserInstance = ReturnType<BonjourInstance['find']>;

interface DnsRecord {
  name: string;
  type: string;
  ttl: number;
  data: unknown;
  flush?: boolean;
}

/** The parts of bonjour-service's responder used here (typed private in its declarations). */
interface Responder {
  mdns: NodeJS.EventEmitter & { respond(packet: { answers: DnsRecord[] }, cb?: (err?: Error) => void): void };
  register(records: DnsRecord[]): void;
  unregister(records: DnsRecord[]): void;
}

interface Published {
  service: ServiceInstance;
  records: DnsRecord[];
  timer?: TimerHandle;
}

export interface MdnsInit {
  /** IPv4 address of the one interface mDNS runs on (DEVELOPERS.md: never every interface). */
  interfaceAddress: string;
  /** Browse `_herald._tcp` and feed versions to sync (modes `mdns` and `both`). */
  browse: boolean;
  /** Also publish each device with an HTTP endpoint on this host as `_http._tcp`. */
  publishDevices: boolean;
  /** An unbound UDP socket for multicast-dns to use (the benchmark injects loss through it). */
  socket?: import('node:dgram').Socket;
}

/**
 * Herald on mDNS/DNS-SD (RFC 6762/6763), through bonjour-service: the agent as `_herald._tcp` with its
 * version in TXT, so standard tools (Avahi, Bonjour, python-zeroconf, Home Assistant) see it, and so that
 * a cluster can sync where raw multicast is barred.
 *
 * bonjour-service has no TXT update, and its Service adds an address record for every interface of the
 * host (none for loopback). So its Service builds the names, its Server answers queries, its Browser
 * browses, and the records and announcements are ours: address records for the configured interface
 * only, the cache-flush bit on unique records (§10.2), and on each change the whole set announced twice,
 * a second apart (§8.3, §8.4), rather than a goodbye and a new publication.
 */
export class MdnsDiscovery implements AgentExtension {
  readonly name = 'mdns';
  private bonjour: BonjourInstance | undefined;
  private browser: BrowserInstance | undefined;
  private agentService: Published | undefined;
  private readonly deviceServices = new Map<string, Published>();
  private ctx: AgentContext | undefined;
  private unsubscribe: (() => void) | undefined;
  private announcements = 0;
  private lastError: string | undefined;

  constructor(private readonly init: MdnsInit) {}

  async start(ctx: AgentContext): Promise<void> {
    this.ctx = ctx;
    const log = ctx.logger.child({ component: 'mdns' });
    const opts = {
      interface: this.init.interfaceAddress,
      bind: '0.0.0.0',
      ttl: 255,
      ...(this.init.socket ? { socket: this.init.socket } : {}),
    };
    const bonjour = new Bonjour(opts as never, (err: Error) => this.onError(log, err));
    this.bonjour = bonjour;
    const mdns = this.responder().mdns;
    mdns.on('warning', (err: Error) => log.debug({ err: err.message }, 'mDNS warning'));
    mdns.on('error', (err: Error) => this.onError(log, err));
    await new Promise<void>((resolve) => mdns.once('ready', () => resolve()));

    const id = ctx.identity;
    this.agentService = this.publish({
      name: `${id.name}@${id.site}`,
      type: 'herald',
      port: id.peerPort,
      txt: this.txt(),
    });
    this.unsubscribe = ctx.local.onChange(() => this.onLocalChange());
    if (this.init.publishDevices) this.syncDevices();

    if (this.init.browse) {
      this.browser = bonjour.find({ type: 'herald' });
      const seen = (service: ServiceInstance) => this.onAdvert(service);
      this.browser.on('up', seen);
      this.browser.on('txt-update', seen);
      this.browser.on('srv-update', seen);
      this.requery(1000);
      this.browser.on('down', (service: ServiceInstance) => {
        const txt = parseHeraldTxt(service.txt);
        if (txt) ctx.sync.observeGoodbye(txt.name, txt.incarnation);
      });
    }
    log.info(
      { interface: this.init.interfaceAddress, browse: this.init.browse, devices: this.init.publishDevices },
      'mDNS started',
    );
  }

  async stop(opts: { goodbye?: boolean } = {}): Promise<void> {
    const bonjour = this.bonjour;
    if (!bonjour) return;
    this.bonjour = undefined;
    this.unsubscribe?.();
    this.browser?.stop();
    const all = [...this.deviceServices.values(), ...(this.agentService ? [this.agentService] : [])];
    for (const p of all) this.ctx?.clock.clearTimeout(p.timer);
    // Goodbye: every record again with TTL 0 (RFC 6762 §10.1), then close.
    const goodbye = all.flatMap((p) => p.records.map((r) => ({ ...r, ttl: 0 })));
    if (goodbye.length > 0 && (opts.goodbye ?? true)) {
      const responder = (bonjour as unknown as { server: Responder }).server;
      responder.unregister(goodbye);
      await new Promise<void>((resolve) => responder.mdns.respond({ answers: goodbye }, () => resolve()));
    }
    await new Promise<void>((resolve) => bonjour.destroy(() => resolve()));
  }

  health(): { ok: boolean; detail?: string } {
    return {
      ok: true,
      detail: `${this.announcements} announcements${this.lastError ? `; last error: ${this.lastError}` : ''}`,
    };
  }

  private responder(): Responder {
    return (this.bonjour as unknown as { server: Responder }).server;
  }

  private onError(log: Logger, err: Error): void {
    this.lastError = err.message;
    log.error({ err: err.message }, 'mDNS socket error');
  }

  private txt(): Record<string, string> {
    const id = this.ctx!.identity;
    return heraldTxt({
      name: id.name,
      site: id.site,
      incarnation: id.incarnation,
      version: this.ctx!.local.currentVersion,
      path: '/v1/peer',
      format: FORMAT_VERSION,
    });
  }

  private publish(
    config: { name: string; type: string; port: number; txt: Record<string, string> },
    announceUntil = 3_600_000,
  ): Published {
    const id = this.ctx!.identity;
    const service = new Service(
      { ...config, protocol: 'tcp', host: `${id.host}.local`, disableIPv6: true, probe: false },
      () => {},
      () => {},
    );
    const records: DnsRecord[] = (service.records() as DnsRecord[])
      .filter((r) => r.type !== 'A' && r.type !== 'AAAA')
      .concat({ name: service.host, type: 'A', ttl: 120, data: this.init.interfaceAddress })
      // Unique records carry the cache-flush bit (RFC 6762 §10.2); PTRs are shared.
      .map((r) => (r.type === 'PTR' ? r : { ...r, flush: true }));
    this.responder().register(records);
    const published: Published = { service, records };
    this.announce(published, 1000, announceUntil);
    return published;
  }

  /**
   * Announcements a second apart (RFC 6762 §8.3); after start they go on at 3, 9, 27 s... up to an
   * hour (as bonjour-service does), so a newcomer whose first announcements were lost is still heard.
   * A change is announced twice, a second apart (§8.4), which ends the start-up series.
   */
  private announce(p: Published, next = 1000, last = 3_600_000): void {
    const bonjour = this.bonjour;
    if (!bonjour) return;
    this.responder().mdns.respond({ answers: p.records }, (err?: Error) => {
      if (err) this.lastError = err.message;
    });
    this.announcements += 1;
    this.ctx!.metrics.announcementsSent.inc({ type: 'mdns' });
    this.ctx!.clock.clearTimeout(p.timer);
    if (next <= last) {
      p.timer = this.ctx!.clock.setTimeout(() => this.announce(p, next * 3, last), next);
      p.timer.unref?.();
    }
  }

  /** Queries again 1, 3 and 9 s after start: a lost first query or answer is not the end of it. */
  private requery(delay: number): void {
    if (delay > 9000) return;
    const timer = this.ctx!.clock.setTimeout(() => {
      if (!this.browser || !this.bonjour) return;
      this.browser.update();
      this.requery(delay * 3);
    }, delay);
    timer.unref?.();
  }

  private onLocalChange(): void {
    const p = this.agentService;
    if (!p) return;
    // Update the TXT record object in place: bonjour's responder holds the same object, so answers to
    // queries carry the new version too.
    const txt = p.records.find((r) => r.type === 'TXT');
    if (txt) txt.data = Object.entries(this.txt()).map(([k, v]) => Buffer.from(`${k}=${v}`));
    this.announce(p, 1000, 1000);
    if (this.init.publishDevices) this.syncDevices();
  }

  private onAdvert(service: ServiceInstance): void {
    const txt = parseHeraldTxt(service.txt);
    if (!txt || !this.ctx) {
      this.ctx?.metrics.invalidInput.inc({ source: 'mdns', reason: 'txt' });
      return;
    }
    const address = service.addresses?.find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a)) ?? service.referer?.address;
    if (!address) return;
    this.ctx.sync.observe(
      {
        name: txt.name,
        site: txt.site,
        incarnation: txt.incarnation,
        version: txt.version,
        address,
        peerPort: service.port,
      },
      'mdns',
    );
  }

  /** Devices with an HTTP endpoint on this host, as `_http._tcp` services: published, updated, withdrawn. */
  private syncDevices(): void {
    const id = this.ctx!.identity;
    const wanted = new Map<string, { device: Device; port: number; path: string }>();
    for (const device of this.ctx!.local.devices()) {
      for (const cap of device.capabilities) {
        if (!cap.endpoint) continue;
        let url: URL;
        try {
          url = new URL(cap.endpoint);
        } catch {
          continue;
        }
        if (
          (url.protocol !== 'http:' && url.protocol !== 'https:') ||
          (url.hostname !== id.address && url.hostname !== id.host)
        )
          continue;
        wanted.set(device.id, {
          device,
          port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
          path: url.pathname,
        });
        break;
      }
    }
    for (const [deviceId, p] of this.deviceServices) {
      const w = wanted.get(deviceId);
      const txt = w && deviceTxt(id.name, w.device, w.path);
      if (w && p.service.port === w.port && JSON.stringify(p.service.txt) === JSON.stringify(txt)) {
        wanted.delete(deviceId);
        continue;
      }
      this.withdraw(p);
      this.deviceServices.delete(deviceId);
    }
    for (const [deviceId, w] of wanted) {
      const name = `${w.device.name} (${id.name})`.slice(0, 63);
      this.deviceServices.set(
        deviceId,
        this.publish({ name, type: 'http', port: w.port, txt: deviceTxt(id.name, w.device, w.path) }, 1000),
      );
    }
  }

  private withdraw(p: Published): void {
    this.ctx!.clock.clearTimeout(p.timer);
    const goodbye = p.records.map((r) => ({ ...r, ttl: 0 }));
    this.responder().unregister(p.records);
    this.responder().mdns.respond({ answers: goodbye }, () => {});
  }
}
