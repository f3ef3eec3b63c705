import { createHash } from 'node:crypto';
import type { Agent } from '../../src/agent/agent.js';
import { toDevice } from '../../src/directory/directory.js';
import { canonicalJson } from '../../src/profiles/model.js';

/** Which promise of the directory a failure broke. */
export type ViolationKind =
  /** A held (incarnation, version) paired with devices other than the origin's at that version. */
  | 'wrong-devices'
  /** After the quiet period: a running agent does not hold a running origin's current (incarnation, version). */
  | 'stale'
  /** After the quiet period: a running origin is `left` at a running agent. */
  | 'left-while-running'
  /** After the quiet period: a running origin is `lost` at a running agent. */
  | 'lost-while-running'
  /** After the quiet period: a stopped agent is `alive` somewhere, or its devices are still listed. */
  | 'ghost'
  /** A live agent reported lost while its datagram loss stayed under 60 % and TCP worked. */
  | 'liveness'
  /** After the quiet period: a registration its origin no longer offers (lapsed, withdrawn) is listed. */
  | 'lapsed-listed'
  /** A change one host lost (deaf for a moment) amid noisy origins, still not held seconds after (starve.ts). */
  | 'slow-change'
  /** A crash missed by the far side of a partition, still held alive seconds after the heal (ghost-heal.ts). */
  | 'slow-heal'
  /** A storm's run multicast more lost notices than its departures and stormed agents allow (storm.ts). */
  | 'notice-storm'
  /** A frozen agent still alive at a viewer FROZEN_LOST_WITHIN_MS into its freeze (freeze.ts). */
  | 'frozen-alive'
  /** A frozen agent not alive again at a viewer THAWED_ALIVE_WITHIN_MS after its resume (freeze.ts). */
  | 'thawed-lost'
  /** A resumed agent's requests in its first moments outnumbered its peers (freeze.ts). */
  | 'thaw-storm'
  /** The simulation itself threw: an exception escaped the agent code. */
  | 'crash';

export interface Violation {
  kind: ViolationKind;
  at: number;
  viewer?: string;
  origin?: string;
  detail: string;
}

/**
 * Devices of one origin as one agent holds them, as a short digest (visible or lost alike). Each
 * record's canonical text is remembered: a record object is replaced, never changed, when its device is.
 */
export function heldDigest(agent: Agent, origin: string, texts: WeakMap<object, string>): string {
  const hash = createHash('sha1');
  for (const record of agent.directory.devices({ agent: origin, includeLost: true })) {
    let text = texts.get(record);
    if (text === undefined) texts.set(record, (text = canonicalJson(toDevice(record))));
    hash.update(text).update('\n');
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * The history of every origin's device set per (incarnation, version): what each origin itself held
 * when it made that version. Any agent that holds that pair must hold exactly these devices.
 */
export class Truth {
  private readonly sets = new Map<string, string>();
  /** Per viewer and origin, the pair last checked: devices change only with the pair, so checks are cheap. */
  private readonly checked = new Map<string, string>();
  readonly texts = new WeakMap<object, string>();

  record(origin: string, incarnation: number, version: number, agent: Agent): void {
    const key = `${origin}/${incarnation}/${version}`;
    if (!this.sets.has(key)) this.sets.set(key, heldDigest(agent, origin, this.texts));
  }

  expected(origin: string, incarnation: number, version: number): string | undefined {
    return this.sets.get(`${origin}/${incarnation}/${version}`);
  }

  /** Checks every pair `viewer` holds; returns the violations not reported before. */
  checkViewer(viewerName: string, viewer: Agent, at: number): Violation[] {
    const out: Violation[] = [];
    for (const name of viewer.directory.originNames()) {
      const held = viewer.directory.held(name);
      if (name === viewerName || !held || held.version === 0 || held.state === 'left') continue;
      const info = { name, ...held };
      const pair = `${info.incarnation}/${info.version}`;
      const memo = `${viewerName}>${info.name}`;
      if (this.checked.get(memo) === pair) continue;
      this.checked.set(memo, pair);
      const want = this.expected(info.name, info.incarnation, info.version);
      const got = heldDigest(viewer, info.name, this.texts);
      if (want === undefined) {
        out.push({
          kind: 'wrong-devices',
          at,
          viewer: viewerName,
          origin: info.name,
          detail: `holds ${pair}, a version ${info.name} never made`,
        });
      } else if (want !== got) {
        out.push({
          kind: 'wrong-devices',
          at,
          viewer: viewerName,
          origin: info.name,
          detail: `holds ${pair} with devices ${got}, but ${info.name} had ${want} at that version`,
        });
      }
    }
    return out;
  }

  /** A viewer restarted: its new directory is checked afresh. */
  forgetViewer(viewerName: string): void {
    for (const key of [...this.checked.keys()]) if (key.startsWith(`${viewerName}>`)) this.checked.delete(key);
  }
}

export interface RunningAgent {
  name: string;
  agent: Agent;
  incarnation: number;
}

/** The end state once the site has been quiet: every running agent right about every other. */
export function finalViolations(running: RunningAgent[], stopped: string[], truth: Truth, at: number): Violation[] {
  const out: Violation[] = [];
  for (const viewer of running) {
    for (const origin of running) {
      if (origin === viewer) continue;
      const v = { at, viewer: viewer.name, origin: origin.name };
      const held = viewer.agent.directory.held(origin.name);
      const own = origin.agent.directory.held(origin.name)!;
      const want = `${own.incarnation}/${own.version}`;
      if (!held) {
        out.push({ kind: 'stale', ...v, detail: `does not know ${origin.name} (${want})` });
        continue;
      }
      const pair = `${held.incarnation}/${held.version}`;
      if (held.state === 'left')
        out.push({ kind: 'left-while-running', ...v, detail: `holds ${origin.name} left at ${pair}; it runs ${want}` });
      else if (held.state === 'lost')
        out.push({ kind: 'lost-while-running', ...v, detail: `holds ${origin.name} lost at ${pair}; it runs ${want}` });
      if (pair !== want) out.push({ kind: 'stale', ...v, detail: `holds ${origin.name} at ${pair}, it is at ${want}` });
      else if (
        held.state !== 'left' &&
        heldDigest(viewer.agent, origin.name, truth.texts) !== truth.expected(origin.name, own.incarnation, own.version)
      )
        out.push({ kind: 'wrong-devices', ...v, detail: `holds ${origin.name} at ${pair} with other devices` });
    }
    for (const gone of stopped) {
      const held = viewer.agent.directory.held(gone);
      if (!held) continue;
      const listed = viewer.agent.directory.devices({ agent: gone }).length;
      if (held.state === 'alive' || listed > 0)
        out.push({
          kind: 'ghost',
          at,
          viewer: viewer.name,
          origin: gone,
          detail: `stopped ${gone} is ${held.state} with ${listed} devices listed`,
        });
    }
  }
  return out;
}

/** Once quiet: a TTL registration its origin no longer offers (it lapsed or was withdrawn) is gone everywhere. */
export function lapsedViolations(running: RunningAgent[], leased: Map<string, Set<string>>, at: number): Violation[] {
  const out: Violation[] = [];
  for (const origin of running) {
    const offered = new Set(origin.agent.devices.list().map((d) => d.id));
    const gone = [...(leased.get(origin.name) ?? [])].filter((id) => !offered.has(id));
    for (const viewer of running) {
      if (viewer === origin || gone.length === 0) continue;
      const listed = new Set(
        viewer.agent.directory.devices({ agent: origin.name, includeLost: true }).map((d) => d.id),
      );
      for (const id of gone.filter((g) => listed.has(g)))
        out.push({ kind: 'lapsed-listed', at, viewer: viewer.name, origin: origin.name, detail: `still lists ${id}` });
    }
  }
  return out;
}
