import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { device, SimSite } from './helpers/sim.js';

/**
 * Why requests to peers fail, counted by reason: the 200-agent cold start on real sockets counted 206k
 * failed catch-ups as `result="failed"` alone, and only a patched build showed they were all one RangeError
 * of the agent's own (a fractional deadline). An operator reads the reason from /metrics.
 */
function failures(text: string, route: string, reason: string): number {
  const m = new RegExp(
    `^herald_peer_request_failures_total\\{route="${route}",reason="${reason}"\\} (\\d+)$`,
    'm',
  ).exec(text);
  return m ? Number(m[1]) : 0;
}

test('failed catch-ups and probes are counted by route and reason', async () => {
  const site = new SimSite(4711);
  try {
    const a = await site.start('agent-a', [device('a-dev')]);
    await site.start('agent-b', [device('b-dev')]);
    assert.ok((await site.runUntilConverged(10_000)) >= 0, 'the two agents converge');
    // agent-a misses agent-b's change, and agent-b's endpoint resets every catch-up; then it crashes, and its
    // port is refused.
    site.network.rpcFaults = (_from, _to, route) => (route === 'changes' ? { kind: 'fail' } : undefined);
    site.network.loss = 1;
    await site.change('agent-b', [device('b-dev'), device('b-dev-2')]);
    await site.clock.advance(100);
    site.network.loss = 0;
    await site.clock.advance(3_000);
    await site.crash('agent-b');
    await site.clock.advance(10_000);
    const text = a.agent.metrics.registry.render();
    assert.ok(failures(text, 'changes', 'network') >= 1, `catch-ups reset: ${failures(text, 'changes', 'network')}`);
    assert.ok(failures(text, 'hello', 'refused') >= 1, `probes refused: ${failures(text, 'hello', 'refused')}`);
  } finally {
    for (const s of site.running()) await s.agent.stop();
  }
});

test.run();
