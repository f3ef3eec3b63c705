import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKey, parseKeyRing } from '../../src/security/cluster-key.js';
import { Ring } from '../../src/sync/ring.js';
import type { PeerClient } from '../../src/transport/transport.js';
import '../helpers/no-unhandled.js';
import { device, SimSite } from '../helpers/sim.js';

/**
 * Finding (D): a monitor whose first probe of its subject goes unanswered (the host vanished) and whose
 * second, confirming probe finds *another agent* at the subject's address (DHCP gave it to another host)
 * loses the subject itself (liveness.ts probe: 'other-agent') but told no one: check() sent a notice on a
 * second probe's refusal only. The others hear the subject rarely (40 agents: stretched heartbeats) and each
 * lost it on its own backstop. Keyed site: its notices are believed, no indirect checks stand in for them.
 */
const AGENTS = 40;
const VICTIM = 'agent-7';
const NEWCOMER = 'agent-40';
const names = Array.from({ length: AGENTS }, (_, i) => `agent-${i}`);
const monitors = new Ring(names).monitorsOf(VICTIM);
const addressOf = (name: string) => `10.0.0.${names.indexOf(name) + 1}`;

test('a monitor that finds another agent at its vanished subject’s address tells the site', async () => {
  const started = new Map<string, number>(); // each monitor's first probe of the victim
  let clockNow = () => 0;
  const watching = (address: string, inner: PeerClient): PeerClient => ({
    changes: (peer, request, timeoutMs) => inner.changes(peer, request, timeoutMs),
    close: () => inner.close(),
    hello: (peer, timeoutMs, withPeers, asker) => {
      const monitor = monitors.find((m) => addressOf(m) === address);
      if (monitor && peer.address === addressOf(VICTIM) && !started.has(monitor)) started.set(monitor, clockNow());
      return inner.hello(peer, timeoutMs, withPeers, asker);
    },
  });
  const key = parseKeyRing(generateKey());
  const site = new SimSite(2214, {}, 1000, key, {
    logLevel: 'silent',
    settleTurns: 1,
    wrap: { transport: (_, t) => t, service: (_, s) => s, peers: watching },
  });
  clockNow = () => site.clock.monotonic();
  try {
    for (let i = 0; i < AGENTS; i++) {
      await site.start(`agent-${i}`, [device(`d-${i}`)], { index: i + 1 });
      await site.clock.advance(5);
    }
    await site.clock.advance(15_000);
    const noticesBefore = monitors.map((m) =>
      site.agents.get(m)!.agent.metrics.announcementsSent.get({ type: 'notice' }),
    );
    started.clear();
    const vanished = site.clock.monotonic();
    site.network.partition([[addressOf(VICTIM)], names.filter((n) => n !== VICTIM).map(addressOf)]);
    // Both monitors' first probes are under way (unanswered): the host is gone, its address given to another.
    while (started.size < monitors.length && site.clock.monotonic() - vanished < 30_000) await site.clock.advance(50);
    assert.equal(started.size, monitors.length, 'both monitors probed the vanished host');
    await site.crash(VICTIM);
    site.network.heal();
    await site.start(NEWCOMER, [device('d-new')], { address: addressOf(VICTIM) });
    const others = names.filter((n) => n !== VICTIM && !monitors.includes(n));
    const lostAt = new Map<string, number>();
    for (let t = 0; t < 30_000 && lostAt.size < others.length; t += 100) {
      await site.clock.advance(100);
      for (const n of others)
        if (!lostAt.has(n) && site.agents.get(n)!.agent.directory.held(VICTIM)?.state !== 'alive')
          lostAt.set(n, site.clock.monotonic() - vanished);
    }
    const notices = monitors.map(
      (m, i) => site.agents.get(m)!.agent.metrics.announcementsSent.get({ type: 'notice' }) - noticesBefore[i],
    );
    const worst = Math.max(...others.map((n) => lostAt.get(n) ?? Infinity)) / 1000;
    console.log(`  monitors' notices ${notices.join(', ')}; every other agent lost ${VICTIM} after ${worst} s`);
    assert.ok(
      notices.some((n) => n > 0),
      'a monitor that lost its subject to another agent at its address told the site',
    );
    assert.ok(worst <= 6, `the others lost the vanished host after ${worst} s`);
  } finally {
    await site.stopAll();
  }
});

test.run();
