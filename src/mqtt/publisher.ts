import type { AgentContext } from '../agent/agent.js';
import type { TimerHandle } from '../util/clock.js';
import { agentTopics, inScope, type PublicationScope } from './publication.js';
import type { RetainedState } from './retained-state.js';
import type { Retirement } from './retirement.js';

/** What bridge/info says about the publisher: its configuration without secrets. */
export interface PublisherSummary {
  version: string;
  mode: 'agent' | 'gateway';
  base: string;
  protocol: '5' | '3.1.1';
  homeAssistant: boolean;
  requests: boolean;
  importSites: string[];
}

/** bridge/info and bridge/devices list the whole site: rebuilt at most this often, not on every change. */
const SUMMARY_EVERY_MS = 1_000;

/**
 * Keeps the broker in step with the directory, agent by agent: each change marks its agent, and once
 * per turn of the event loop every marked agent's topics (state, records, Home Assistant entries) are
 * computed together and diffed against what was published for it.
 */
export class Publisher {
  /** Topics published for each agent: what a change of that agent is diffed against. */
  private readonly byAgent = new Map<string, Set<string>>();
  private readonly dirty = new Set<string>();
  private flushTimer: TimerHandle | undefined;
  private summaryTimer: TimerHandle | undefined;

  constructor(
    private readonly c: Pick<AgentContext, 'clock' | 'directory' | 'identity'>,
    private readonly scope: PublicationScope,
    private readonly state: RetainedState,
    private readonly retirement: Retirement,
    private readonly summary: PublisherSummary,
  ) {}

  stop(): void {
    this.c.clock.clearTimeout(this.flushTimer);
    this.c.clock.clearTimeout(this.summaryTimer);
  }

  /** Changes come in bursts (a snapshot is one event per device): each agent is brought in step once. */
  markDirty(name: string): void {
    this.dirty.add(name);
    this.flushTimer ??= this.c.clock.setTimeout(() => this.flush(), 0);
  }

  /** Everything the broker should hold for this publisher, for the read-back after a connect. */
  desired(): Map<string, string> {
    this.byAgent.clear();
    const out = this.publisherTopics();
    for (const name of this.agentsInScope()) {
      const topics = this.wanted(name);
      if (topics.size > 0) this.byAgent.set(name, new Set(topics.keys()));
      for (const [t, p] of topics) out.set(t, p);
    }
    return out;
  }

  /** Clears what this publisher published for an agent (the broker's other copies are purged apart). */
  clearAgent(name: string): void {
    for (const t of this.byAgent.get(name) ?? []) this.state.clear(t);
    this.byAgent.delete(name);
    this.scheduleSummary();
  }

  private flush(): void {
    this.flushTimer = undefined;
    const names = [...this.dirty];
    this.dirty.clear();
    for (const name of names) this.reconcile(name);
    this.scheduleSummary();
  }

  /** Brings one agent's topics in step: publishes what changed, clears what went. */
  private reconcile(name: string): void {
    const want = this.wanted(name);
    for (const t of this.byAgent.get(name) ?? []) if (!want.has(t)) this.state.clear(t);
    for (const [t, p] of want) this.state.publish(t, p);
    if (want.size > 0) this.byAgent.set(name, new Set(want.keys()));
    else this.byAgent.delete(name);
  }

  private scheduleSummary(): void {
    this.summaryTimer ??= this.c.clock.setTimeout(() => {
      this.summaryTimer = undefined;
      for (const [t, p] of this.publisherTopics()) this.state.publish(t, p);
    }, SUMMARY_EVERY_MS);
  }

  /** Every agent this publisher speaks for: the directory's, and lost ones it forgot but still holds. */
  private agentsInScope(): Set<string> {
    const names = new Set<string>();
    for (const a of this.c.directory.agents()) if (inScope(this.scope, a)) names.add(a.name);
    for (const name of this.retirement.held()) names.add(name);
    return names;
  }

  private wanted(name: string): Map<string, string> {
    // An agent the directory forgot (an hour after it was lost) keeps its records until it is retired.
    if (!this.c.directory.agent(name) && this.retirement.holds(name)) {
      const kept = new Map<string, string>();
      for (const t of this.byAgent.get(name) ?? []) {
        const p = this.state.get(t);
        if (p !== undefined) kept.set(t, p);
      }
      return kept;
    }
    return agentTopics(this.c.directory, this.scope, name, this.c.clock.now());
  }

  /** The topics of the publisher itself: its state (gateway), its info and its site's devices. */
  private publisherTopics(): Map<string, string> {
    const { directory, identity } = this.c;
    const t = this.scope.topics;
    const out = new Map<string, string>();
    if (this.summary.mode === 'gateway') out.set(t.bridge('state', identity.name), JSON.stringify({ state: 'online' }));
    const devices = directory.devices({ site: identity.site });
    const agents = directory.agents().filter((a) => a.site === identity.site && !a.remote);
    const info = {
      ...this.summary,
      publisher: identity.name,
      site: identity.site,
      retireAfterS: Math.round(this.scope.retireAfterMs / 1000),
      agents: agents.length,
      devices: devices.length,
    };
    out.set(t.bridge('info', identity.name), JSON.stringify(info));
    out.set(t.bridge('devices', identity.name), JSON.stringify(devices));
    return out;
  }
}
