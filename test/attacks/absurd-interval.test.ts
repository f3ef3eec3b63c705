import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage } from '../../src/protocol/codec.js';
import { MessageType } from '../../src/protocol/messages.js';
import { device, SimSite } from '../helpers/sim.js';
import { honestHellos } from './open-site.js';

/**
 * attack14: a heartbeat with well-formed but absurd fields, forged on an open site from a live agent's own
 * address (a spoofed UDP source: nothing on a LAN stops it), naming its current life and version. Its interval
 * (Message.intervalMs) is taken from any fresh datagram from its endpoint: absent or 0, every agent of a
 * stretched site judges the agent's silence by the one-second period instead of its interval of tens of seconds,
 * and probes it every few seconds until its next real multicast; huge (1e9 ms), no agent but its monitors would
 * ever probe it. Counted: the hellos the honest agents send the victim in the minute after one forged datagram,
 * against the same minute without it (the same seed).
 */
const AGENTS = 40;
const BUDGET = 36; // B/s: heartbeats minutes apart, as at 1,000 agents
const VICTIM = 'agent-5';
const WINDOW_MS = 60_000;

async function hellosToVictim(forged: { intervalMs?: number } | undefined): Promise<number> {
  const site = new SimSite(1417, {}, 1000, undefined, { logLevel: 'silent', settleTurns: 1 });
  try {
    for (let i = 0; i < AGENTS; i++) {
      await site.start(`agent-${i}`, [device(`d-${i}`)], { index: i + 1, init: { heartbeatBudget: BUDGET } });
      await site.clock.advance(10);
    }
    await site.clock.advance(20_000);
    const victim = site.agents.get(VICTIM)!;
    let sent = false;
    const hellos = await honestHellos(site, VICTIM, WINDOW_MS, () => {
      if (!forged || sent) return;
      sent = true;
      const msg = {
        type: MessageType.heartbeat,
        site: 'sim',
        name: VICTIM,
        incarnation: victim.incarnation,
        version: victim.agent.local.currentVersion,
        peerPort: 7771,
        hints: [],
        ...forged,
      };
      site.network.inject(victim.address, encodeMessage(msg).bytes);
    });
    return hellos.filter((h) => h.to.startsWith(`${victim.address}:`)).length;
  } finally {
    await site.stopAll();
  }
}

test('open: one forged heartbeat with no interval, or 0, does not make the whole site probe its agent', async () => {
  const baseline = await hellosToVictim(undefined);
  const absent = await hellosToVictim({});
  const zero = await hellosToVictim({ intervalMs: 0 });
  console.log(`  hellos to ${VICTIM} in ${WINDOW_MS / 1000} s: ${baseline} without a forgery, ${absent} after one`);
  console.log(`  with no interval, ${zero} after one with intervalMs 0 (${AGENTS} agents)`);
  // Its monitors probe it as before; a forged datagram may cost each other agent a probe, not a stream of them.
  for (const [what, n] of [
    ['absent', absent],
    ['0', zero],
  ] as const)
    assert.ok(n <= baseline + AGENTS, `interval ${what}: ${n} hellos, ${baseline} without the forgery`);
});

test.run();
