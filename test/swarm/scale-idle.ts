import { TCP_EXCHANGE_OVERHEAD, UDP_IP_HEADER_BYTES } from '../../bench/wire.js';
import type { AgentCost, AnswerKind } from './cost.js';
import type { ScaleResult } from './scale.js';
import type { ScaleSite } from './scale-site.js';

/** The scale run's idle window: what the site and each agent send and receive while nothing changes. */

/**
 * One agent's idle bytes per second by kind: multicast and unicast datagrams (sent, or copies received) and
 * peer answers (served, or received) by path: catch-ups, summaries (hello `?peers=1`), plain probes. With
 * who asked it for its summary, busiest first: what found the agent that served 45 summaries at 1,000.
 */
export interface IdleBreakdown {
  agent: string;
  bytesPerSecond: { multicast: number; unicast: number } & Record<AnswerKind, number>;
  summaryAskers: { agent: string; count: number }[];
}

export async function idlePhase(site: ScaleSite, seconds: number): Promise<ScaleResult['idle']> {
  site.meter.reset();
  await site.sim.clock.advance(seconds * 1000);
  const names = site.names.filter((n) => site.live.has(n));
  const costs = names.map((n) => site.meter.of(site.addressOf(n)));
  const sent = costs.map((c) => (c.multicastSentBytes + c.unicastSentBytes + c.requestBytesServed) / seconds);
  const received = costs.map(
    (c) => (c.multicastReceivedBytes + c.unicastReceivedBytes + c.requestBytesReceived) / seconds,
  );
  const unicastReceived = costs.map((c) => (c.unicastReceivedBytes + c.requestBytesReceived) / seconds);
  const wireReceived = costs.map((c) => wireReceivedBytes(c) / seconds);
  const s = site.meter.site;
  return {
    siteMulticastBytesPerSecond: s.multicastBytes / seconds,
    siteMulticastPerSecond: s.multicast / seconds,
    siteUnicastBytesPerSecond: s.unicastBytes / seconds,
    agentSentBytesPerSecond: stats(sent),
    agentReceivedBytesPerSecond: stats(received),
    agentUnicastReceivedBytesPerSecond: stats(unicastReceived),
    agentWireReceivedBytesPerSecond: stats(wireReceived),
    agentReceivedByKind: receivedByKind(costs, seconds),
    requestsPerSecond: sum(costs, (c) => c.requestsMade) / seconds,
    requestBytesPerSecond: sum(costs, (c) => c.requestBytesServed) / seconds,
    busiest: {
      sent: breakdown(site, names[argMax(sent)], seconds, 'sent'),
      received: breakdown(site, names[argMax(received)], seconds, 'received'),
    },
  };
}

/**
 * What an agent's host received on the wire, as the bench counts it (bench/wire.ts): every datagram's payload
 * and its 28 bytes of UDP and IPv4, every peer answer and a TCP exchange's headers. The goal's 300 B/s is this.
 */
function wireReceivedBytes(c: AgentCost): number {
  const datagrams = c.multicastReceived + c.unicastReceived;
  const answers = c.requestsMade * TCP_EXCHANGE_OVERHEAD + c.requestBytesReceived;
  return c.multicastReceivedBytes + c.unicastReceivedBytes + datagrams * UDP_IP_HEADER_BYTES + answers;
}

/**
 * The mean agent's received bytes a second on the wire by kind: datagrams by way and message type ("multicast
 * heartbeat", "unicast notice"), peer answers by kind ("answer catchup"). What an idle agent receives (idle17).
 */
function receivedByKind(costs: AgentCost[], seconds: number): Record<string, number> {
  const out: Record<string, number> = {};
  const add = (key: string, bytes: number) => (out[key] = (out[key] ?? 0) + bytes / seconds / costs.length);
  for (const c of costs) {
    for (const [key, t] of Object.entries(c.receivedByType)) add(key, t.bytes + t.count * UDP_IP_HEADER_BYTES);
    for (const [kind, bytes] of Object.entries(c.answersReceivedBytes)) if (bytes > 0) add(`answer ${kind}`, bytes);
  }
  return out;
}

const argMax = (xs: number[]) => xs.reduce((best, x, i) => (x > xs[best] ? i : best), 0);

function breakdown(site: ScaleSite, agent: string, seconds: number, way: 'sent' | 'received'): IdleBreakdown {
  const c = site.meter.of(site.addressOf(agent));
  const answers = (kind: AnswerKind) =>
    (way === 'sent' ? c.served[kind].bytes : c.answersReceivedBytes[kind]) / seconds;
  const nameAt = new Map(site.names.map((n) => [site.addressOf(n), n]));
  return {
    agent,
    bytesPerSecond: {
      multicast: (way === 'sent' ? c.multicastSentBytes : c.multicastReceivedBytes) / seconds,
      unicast: (way === 'sent' ? c.unicastSentBytes : c.unicastReceivedBytes) / seconds,
      catchup: answers('catchup'),
      summary: answers('summary'),
      probe: answers('probe'),
    },
    summaryAskers: [...c.summaryAskers]
      .map(([address, count]) => ({ agent: nameAt.get(address) ?? address, count }))
      .sort((a, b) => b.count - a.count)
      .slice(0, 5),
  };
}

export const sum = (costs: AgentCost[], f: (c: AgentCost) => number) => costs.reduce((t, c) => t + f(c), 0);
const stats = (xs: number[]) => ({
  mean: xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length),
  max: Math.max(0, ...xs),
});
