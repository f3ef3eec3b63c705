import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { NetworkEvent } from '../src/transport/memory-network.js';
import { device, SimSite, type SimAgent } from './helpers/sim.js';

/**
 * A host that slept (SIGSTOP, a VM suspended) reads at its resume every datagram that reached it meanwhile, in one
 * turn of its loop: what it asks of its peers then must not multiply with that backlog (the swarm's `thaw-storm`,
 * seeds 32000208 and 31100045 with host faults). The backlog is replayed here to one viewer that heard none of it.
 */
const VICTIM = 'agent-2';
const VIEWER = 'agent-0';

async function openSite(seed: number): Promise<SimSite> {
  const s = new SimSite(seed, {}, 1000, undefined, { logLevel: 'silent', settleTurns: 1 });
  for (let i = 0; i < 5; i++) await s.start(`agent-${i}`, [device(`d-${i}`)], { index: i + 1 });
  assert.ok((await s.runUntilConverged(10_000)) >= 0, 'converged');
  return s;
}

/** The victim's datagrams the viewer does not hear while `during` runs, kept to be read later in one turn. */
async function backlog(s: SimSite, during: () => Promise<void>): Promise<Uint8Array[]> {
  const [viewer, victim] = [s.agents.get(VIEWER)!, s.agents.get(VICTIM)!];
  const kept: Uint8Array[] = [];
  s.network.onSend = (from, data) => {
    if (from === victim.address) kept.push(Uint8Array.from(data));
  };
  s.network.links.set(viewer.address, { loss: 1 });
  try {
    await during();
  } finally {
    s.network.onSend = undefined;
    s.network.links.delete(viewer.address);
  }
  return kept;
}

/** Catch-up requests of the victim's changes the viewer makes while `ms` pass. */
async function catchupsOf(s: SimSite, viewer: SimAgent, ms: number, read: () => void): Promise<number> {
  let n = 0;
  s.network.onEvent = (e: NetworkEvent) => {
    const asked = e.type === 'rpc' && e.from === viewer.address && e.route === 'changes';
    if (asked && new URLSearchParams(e.query).get('origin') === VICTIM) n += 1;
  };
  read();
  await s.clock.advance(ms);
  s.network.onEvent = undefined;
  return n;
}

test('the datagrams of three lives of a peer read in one turn: its changes asked once, of the newest life', async () => {
  const s = await openSite(1701);
  try {
    const viewer = s.agents.get(VIEWER)!;
    let last: SimAgent | undefined;
    const kept = await backlog(s, async () => {
      for (let i = 0; i < 3; i++) {
        await s.crash(VICTIM);
        last = await s.start(VICTIM, [device(`d-2-life-${i}`)], { index: 3 });
        await s.clock.advance(30);
      }
    });
    assert.ok(kept.length >= 3, `the three lives' datagrams kept (${kept.length})`);
    const victim = s.agents.get(VICTIM)!;
    const asked = await catchupsOf(s, viewer, 50, () =>
      kept.forEach((d) => s.network.injectTo(victim.address, viewer.address, d)),
    );
    // Before thaw17 each life taken provisionally asked at once: 3 requests of the same endpoint in 1 ms.
    assert.is(asked, 1, `one catch-up request (${asked})`);
    await s.clock.advance(100);
    assert.is(viewer.agent.directory.held(VICTIM)?.incarnation, last!.incarnation, 'the viewer holds the newest life');
    assert.ok(viewer.agent.directory.device(VICTIM, 'd-2-life-2'), 'with its device');
  } finally {
    await s.stopAll();
  }
});

test("a crashed peer's last life read after it was lost: its refused catch-up is not retried", async () => {
  const s = await openSite(1702);
  try {
    const viewer = s.agents.get(VIEWER)!;
    const victim = s.agents.get(VICTIM)!;
    const kept = await backlog(s, async () => {
      await s.crash(VICTIM);
      await s.start(VICTIM, [device('d-2-last')], { index: 3 });
      await s.clock.advance(30);
      await s.crash(VICTIM);
      // Hearing nothing, the viewer probes the silent: the victim's endpoint refuses, so it is lost.
      for (let t = 0; t < 20_000 && viewer.agent.directory.held(VICTIM)?.state !== 'lost'; t += 100)
        await s.clock.advance(100);
    });
    assert.is(viewer.agent.directory.held(VICTIM)?.state, 'lost', 'the viewer lost the crashed peer');
    s.network.setDown(victim.address, false); // its datagrams sent before the crash, still on their way: read now
    const asked = await catchupsOf(s, viewer, 5000, () =>
      kept.forEach((d) => s.network.injectTo(victim.address, viewer.address, d)),
    );
    // Before thaw17 it was asked again after 100, 200, 400, 800 ms... each refused (5 in 1.3 s in seed 31100045).
    assert.is(asked, 1, `one catch-up request in 5 s (${asked})`);
  } finally {
    await s.stopAll();
  }
});

test.run();
