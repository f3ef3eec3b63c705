import type { NetworkEvent } from '../../src/transport/memory-network.js';
import type { FakeClock } from '../../src/util/clock.js';
import type { FaultEvent } from './scenario.js';

/**
 * A readable account of one seed: faults as they happen, datagrams and requests between agents, and
 * what each agent concluded about the others. Only kept when replaying one seed (it costs time).
 */
export class Trace {
  readonly lines: string[] = [];

  constructor(
    private readonly clock: FakeClock,
    private readonly enabled: boolean,
  ) {}

  line(text: string): void {
    if (!this.enabled) return;
    this.lines.push(`${(this.clock.monotonic() / 1000).toFixed(3).padStart(8)}s ${text}`);
  }

  fault(e: FaultEvent): void {
    if (!this.enabled) return;
    const rest: Record<string, unknown> = { ...e };
    delete rest.at;
    delete rest.kind;
    this.line(`FAULT ${e.kind} ${JSON.stringify(rest)}`);
  }

  network(e: NetworkEvent, nameOf: (address: string) => string): void {
    if (!this.enabled) return;
    if (e.type === 'datagram') this.line(`datagram ${nameOf(e.from)} -> ${nameOf(e.to)} ${e.bytes} B ${e.fate}`);
    else this.line(`request ${nameOf(e.from)} -> ${nameOf(e.to.split(':')[0])} ${e.route}?${e.query}: ${e.outcome}`);
  }
}

/** When `viewer` logged `peer` lost, in ms after `since`, from a trace's `[viewer] peer lost` lines. */
export function lostAfter(trace: readonly string[] | undefined, viewer: string, peer: string, since: number): number[] {
  return (trace ?? []).flatMap((line) => {
    const m = /^\s*([\d.]+)s \[(\S+)\] (\S+) lost/.exec(line);
    return m && m[2] === viewer && m[3] === peer ? [Math.round(Number(m[1]) * 1000) - since] : [];
  });
}

/** Summaries `asker` asked for after `since` ms (hellos with peers=1), from the simulator's trace. */
export function summariesAsked(trace: readonly string[], asker: string, since: number): number {
  return trace.filter((l) => {
    const m = new RegExp(`^\\s*([\\d.]+)s request ${asker} -> \\S+ hello\\?(\\S*)`).exec(l);
    return m !== null && Number(m[1]) * 1000 >= since && /(^|&)peers=1(&|:|$)/.test(m[2]);
  }).length;
}

/** Viewers that hold `agent` lost at `at` ms, from the trace's `lost` and `joined` lines (the last before `at`). */
export function holdingLost(trace: readonly string[], agent: string, at: number): string[] {
  const state = new Map<string, string>();
  for (const line of trace) {
    const m = /^\s*([\d.]+)s \[(\S+)\] (\S+) (lost|joined) \(/.exec(line);
    if (!m || m[3] !== agent || Number(m[1]) * 1000 > at) continue;
    state.set(m[2], m[4]);
  }
  return [...state].filter(([, s]) => s === 'lost').map(([viewer]) => viewer);
}
