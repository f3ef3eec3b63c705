import type { Directory } from '../directory/directory.js';
import type { HeraldMetrics } from '../metrics/herald-metrics.js';
import type { ClusterSync } from '../sync/cluster-sync.js';
import { PeerRequestError } from '../transport/http-peer-client.js';
import type { Endpoint, PeerClient } from '../transport/transport.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import { TokenBuckets } from '../util/token-bucket.js';

/** Agents named over mDNS and not yet verified, held at once (issue 16 item 7). */
export const MAX_PENDING_HINTS = 32;
const CONCURRENT_PROBES = 4;
/** A goodbye is re-checked this long after it was heard: the agent sends it just before closing its port. */
const GOODBYE_RECHECK_MS = [0, 300, 1000];

export interface HintVerifierInit {
  site: string;
  self: string;
  peers: PeerClient;
  sync: Pick<ClusterSync, 'observe' | 'observeGoodbye'>;
  directory: Pick<Directory, 'held' | 'agent'>;
  clock: Clock;
  metrics: HeraldMetrics;
  logger: Logger;
  timeoutMs: number;
}

type Hint = { kind: 'advert'; endpoint: Endpoint } | { kind: 'goodbye'; endpoint: Endpoint; incarnation: number };

/**
 * mDNS carries no authentication, so what it says is a hint, never a fact (issue 16 items 3–7): an
 * advert, a new TXT version or a goodbye only makes this agent ask the advertised agent itself, over the
 * peer client (signed both ways when a cluster key is set). Only what that answer says reaches sync:
 * its name, incarnation and version, at the endpoint that answered. A goodbye is believed once the
 * agent's known endpoint refuses connections or another life answers there. Hints wait in a bounded
 * queue, one per agent name, and probes are rate limited, so a flood of fake names costs a few probes
 * a second and no state.
 */
export class HintVerifier {
  private readonly pending = new Map<string, Hint>();
  private readonly inFlight = new Set<string>();
  private readonly budget: TokenBuckets;
  private stopped = false;
  private readonly refutedLog: RateLimitedLog;

  constructor(private readonly init: HintVerifierInit) {
    this.budget = new TokenBuckets(init.clock, 10, 20, 1);
    this.refutedLog = new RateLimitedLog(init.clock, 60_000, 64);
  }

  stop(): void {
    this.stopped = true;
    this.pending.clear();
  }

  advert(name: string, site: string, incarnation: number, version: number, endpoint: Endpoint): void {
    if (site !== this.init.site || name === this.init.self) return;
    const held = this.init.directory.held(name);
    const info = this.init.directory.agent(name);
    const known =
      held?.state === 'alive' &&
      held.incarnation === incarnation &&
      held.version >= version &&
      info?.address === endpoint.address &&
      info.peerPort === endpoint.port;
    if (!known) this.enqueue(name, { kind: 'advert', endpoint });
  }

  /** A goodbye names an agent; the endpoint probed is the one held for it, not the packet's sender. */
  goodbye(name: string): void {
    const held = this.init.directory.held(name);
    const info = this.init.directory.agent(name);
    if (held?.state !== 'alive' || !info?.address || !info.peerPort) return;
    this.enqueue(name, {
      kind: 'goodbye',
      endpoint: { address: info.address, port: info.peerPort },
      incarnation: held.incarnation,
    });
  }

  private enqueue(name: string, hint: Hint): void {
    if (this.stopped) return;
    if (!this.pending.has(name) && this.pending.size >= MAX_PENDING_HINTS) {
      this.init.metrics.mdnsHints.inc({ result: 'dropped-queue-full' });
      return;
    }
    this.pending.set(name, hint);
    this.pump();
  }

  private pump(): void {
    for (const [name, hint] of this.pending) {
      if (this.inFlight.size >= CONCURRENT_PROBES) return;
      if (this.inFlight.has(name)) continue;
      if (!this.budget.take('all')) {
        const t = this.init.clock.setTimeout(() => this.pump(), this.budget.waitMs('all'));
        t.unref?.();
        return;
      }
      this.pending.delete(name);
      this.inFlight.add(name);
      const done = hint.kind === 'advert' ? this.verifyAdvert(name, hint.endpoint) : this.verifyGoodbye(name, hint);
      void done.finally(() => {
        this.inFlight.delete(name);
        this.pump();
      });
    }
  }

  private async verifyAdvert(name: string, endpoint: Endpoint): Promise<void> {
    try {
      const hello = await this.init.peers.hello(endpoint, this.init.timeoutMs);
      if (this.stopped) return;
      if (hello.name !== name || hello.site !== this.init.site) {
        this.init.metrics.mdnsHints.inc({ result: 'other-agent-answered' });
        return;
      }
      this.init.metrics.mdnsHints.inc({ result: 'verified' });
      const { incarnation, version } = hello;
      this.init.sync.observe({ name, site: hello.site, incarnation, version, ...asAdvertEndpoint(endpoint) }, 'mdns');
    } catch (err) {
      this.init.metrics.mdnsHints.inc({ result: reasonOf(err) });
      this.init.logger.debug({ agent: name, endpoint, err: (err as Error).message }, 'mDNS advert not verified');
    }
  }

  private async verifyGoodbye(name: string, hint: Hint & { kind: 'goodbye' }): Promise<void> {
    for (const wait of GOODBYE_RECHECK_MS) {
      if (wait > 0) await new Promise<void>((r) => this.init.clock.setTimeout(r, wait));
      if (this.stopped) return;
      try {
        const hello = await this.init.peers.hello(hint.endpoint, this.init.timeoutMs);
        if (hello.name === name && hello.incarnation === hint.incarnation) continue; // still there
        this.init.metrics.mdnsHints.inc({ result: 'goodbye-confirmed' });
        if (hello.name === name && hello.incarnation > hint.incarnation)
          this.init.sync.observe({ ...hello, ...asAdvertEndpoint(hint.endpoint) }, 'mdns');
        else this.init.sync.observeGoodbye(name, hint.incarnation);
        return;
      } catch (err) {
        if (!(err instanceof PeerRequestError && err.reason === 'refused')) {
          this.init.metrics.mdnsHints.inc({ result: reasonOf(err) });
          return; // no answer either way: the liveness sweep decides
        }
        this.init.metrics.mdnsHints.inc({ result: 'goodbye-confirmed' });
        this.init.sync.observeGoodbye(name, hint.incarnation);
        return;
      }
    }
    this.init.metrics.mdnsHints.inc({ result: 'goodbye-refuted' });
    if (this.refutedLog.allow(name))
      this.init.logger.warn({ agent: name }, 'an mDNS goodbye for an agent that still answers was ignored');
  }
}

function asAdvertEndpoint(e: Endpoint): { address: string; peerPort: number } {
  return { address: e.address, peerPort: e.port };
}

function reasonOf(err: unknown): string {
  return err instanceof PeerRequestError ? `probe-${err.reason}` : 'probe-failed';
}
