import { MessageType, type Message } from '../protocol/messages.js';
import type { Asker, Endpoint } from '../transport/transport.js';
import { TokenBuckets } from '../util/token-bucket.js';
import { PeerRequestError } from '../transport/transport.js';
import { SYNC_LIMITS } from './config.js';
import type { Liveness } from './liveness.js';
import { sameEndpoint } from './peer-table.js';
import type { SyncContext } from './sync-context.js';
import type { Transitions } from './transitions.js';

/** An advertisement heard by another discovery (an mDNS TXT record). */
export interface Advert {
  name: string;
  site: string;
  incarnation: number;
  version: number;
  address: string;
  peerPort: number;
}

/**
 * What another discovery (mDNS) reports: adverts, unchanged re-announcements and goodbyes. mDNS carries
 * no authentication, so with a cluster key it is a hint only: it leads to a signed probe of the
 * advertised endpoint, and only what the verified answer says is applied.
 */
export class MdnsObserver {
  /** Adverts of unknown agents being verified by a probe. */
  private readonly verifying = new Set<string>();
  /** Adverts whose verification failed: not probed again before `until` (backoff per name and endpoint). */
  private readonly failed = new Map<string, { until: number; failures: number }>();
  /** Verification probes of unknown agents, all together: forged adverts cannot become a probe storm. */
  private readonly budget: TokenBuckets;

  constructor(
    private readonly s: SyncContext,
    private readonly liveness: Liveness,
    private readonly transitions: Transitions,
    private readonly keyed: boolean,
    /** Without a key, an advert is handled like a heartbeat. */
    private readonly asHeartbeat: (msg: Message, from: Endpoint, signal: string) => void,
  ) {
    this.budget = new TokenBuckets(s.c.clock, 5, 20);
  }

  observe(advert: Advert, signal: string): void {
    if (advert.site !== this.s.cfg.site || advert.name === this.s.cfg.name) return;
    const from = { address: advert.address, port: advert.peerPort };
    if (this.keyed) return this.verify(advert, from, signal);
    const msg: Message = {
      type: MessageType.heartbeat,
      site: advert.site,
      name: advert.name,
      incarnation: advert.incarnation,
      version: advert.version,
      peerPort: advert.peerPort,
      hints: [],
    };
    this.asHeartbeat(msg, from, signal);
  }

  /** An agent that named itself in a hello it sent: known ones are probed if news, others verified. */
  asked(asker: Asker & { address: string }): void {
    const endpoint = { address: asker.address, port: asker.port };
    const known = this.s.peers.get(asker.name);
    if (!known) return this.verifyUnknown(asker.name, endpoint, 'probe');
    const r = known.replica;
    if (asker.incarnation < r.incarnation || (asker.incarnation === r.incarnation && r.left)) return;
    const alive = this.s.c.directory.held(asker.name)?.state === 'alive';
    if (asker.incarnation > r.incarnation || !alive || !sameEndpoint(endpoint, known.endpoint))
      void this.liveness.probe(known, endpoint);
  }

  refresh(advert: Advert): void {
    const peer = this.s.peers.get(advert.name);
    // Not known (its first advert was lost, or its verification failed, or it was forgotten): as new.
    if (!peer) return this.observe(advert, 'mdns');
    // A newer life not yet believed (named from another endpoint, its probe then busy or failed): asked again.
    if (!this.keyed && advert.incarnation > peer.replica.incarnation) return this.observe(advert, 'mdns');
    if (advert.site !== this.s.cfg.site || advert.incarnation !== peer.replica.incarnation) return;
    const endpoint = { address: advert.address, port: advert.peerPort };
    const moved = !sameEndpoint(endpoint, peer.endpoint);
    const silent = this.s.c.clock.monotonic() - peer.lastHeard >= this.s.cfg.heartbeatMs;
    const alive = this.s.c.directory.held(peer.name)?.state === 'alive';
    if (moved || (this.keyed && (silent || !alive))) void this.liveness.probe(peer, endpoint, 'mdns');
    else if (!this.keyed && !peer.replica.left) this.liveness.heard(peer);
  }

  goodbye(name: string, incarnation: number): void {
    const peer = this.s.peers.get(name);
    if (!peer || incarnation !== peer.replica.incarnation || peer.replica.left) return;
    const replica = peer.replica;
    this.s.c.peers.hello(peer.endpoint, this.s.cfg.livenessPeriodMs, false, this.s.self).then(
      (hello) => {
        if (this.s.running() && hello.name === name) this.transitions.heardFrom(peer, hello, 'probe');
      },
      (err: unknown) => {
        const refused = err instanceof PeerRequestError && err.reason === 'refused';
        if (this.s.running() && refused && peer.replica === replica)
          this.transitions.goodbye(peer, 'mdns goodbye', false);
      },
    );
  }

  /**
   * With a key, an mDNS advert is verified by a signed probe before the agent is added or believed; of a
   * known agent, an advert of a newer life or version, another endpoint, or a lost agent leads to a probe.
   */
  private verify(advert: Advert, endpoint: Endpoint, signal: string): void {
    const known = this.s.peers.get(advert.name);
    if (known) {
      const r = known.replica;
      const newer = advert.incarnation > r.incarnation || advert.version > Math.max(r.target, r.heldVersion());
      const alive = this.s.c.directory.held(advert.name)?.state === 'alive';
      if (newer || !alive || !sameEndpoint(known.endpoint, endpoint)) void this.liveness.probe(known, endpoint, signal);
      return;
    }
    this.verifyUnknown(advert.name, endpoint, signal);
  }

  /**
   * An agent not yet known, named by an advert or by a peer's summary: added only if a probe of that
   * endpoint answers as it. Probes are budgeted (5 a second) and backed off per name and endpoint.
   */
  verifyUnknown(name: string, endpoint: Endpoint, signal: string): void {
    const key = `${name}@${endpoint.address}:${endpoint.port}`;
    const now = this.s.c.clock.monotonic();
    const failed = this.failed.get(key);
    if (this.verifying.has(name) || (failed && now < failed.until)) return;
    if (this.verifying.size >= SYNC_LIMITS.unverifiedPeers || !this.budget.take('verify'))
      return this.s.bounds.hit('unverified-peers', { agent: name, known: this.s.peers.size });
    this.verifying.add(name);
    this.s.c.peers
      .hello(endpoint, this.s.cfg.livenessPeriodMs, false, this.s.self)
      .then((hello) => {
        if (!this.s.running() || hello.name !== name || hello.site !== this.s.cfg.site) return this.fail(key);
        this.failed.delete(key);
        const peer = this.s.peers.get(name) ?? this.transitions.discover(name, endpoint, hello.incarnation, true);
        if (peer && sameEndpoint(peer.endpoint, endpoint)) this.transitions.heardFrom(peer, hello, signal);
      })
      .catch(() => {
        this.s.c.metrics.livenessProbes.inc({ result: 'failed' });
        this.fail(key);
      })
      .finally(() => this.verifying.delete(name));
  }

  /** 2 s, doubling to a minute; the oldest entry goes when a flood of names fills the map. */
  private fail(key: string): void {
    const failures = (this.failed.get(key)?.failures ?? 0) + 1;
    this.failed.delete(key);
    const oldest = this.failed.keys().next();
    if (this.failed.size >= SYNC_LIMITS.peers && !oldest.done) this.failed.delete(oldest.value);
    const wait = Math.min(2000 * 2 ** (failures - 1), SYNC_LIMITS.unverifiedRetryMaxMs);
    this.failed.set(key, { until: this.s.c.clock.monotonic() + wait, failures });
  }
}
