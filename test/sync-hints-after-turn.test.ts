import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage } from '../src/protocol/codec.js';
import { fnv1a32, incarnationTag, MessageType, type Hint } from '../src/protocol/messages.js';
import { device, SimSite, type SimAgent } from './helpers/sim.js';

/**
 * 50 agents sharing an event loop (the bench's children; a host running several agents) each handle their copy
 * of one change datagram in turn, and the last holds the change after 49 handlings. A datagram's hints are not
 * needed to apply what it carries (nearly all name versions already held): with `defer` they wait until the
 * datagrams of the turn are handled (change14, docs/benchmarks.md "Where a change's p99 at 200 agents goes").
 */
async function site(): Promise<{ s: SimSite; queued: (() => void)[] }> {
  const s = new SimSite(3141, {}, 1000, undefined, { logLevel: 'silent', settleTurns: 1 });
  const queued: (() => void)[] = [];
  for (let i = 0; i < 3; i++) await s.start(`agent-${i}`, [device(`d-${i}`)], { index: i + 1 });
  await s.start('viewer', [device('d-v')], { index: 9, components: { defer: (work) => queued.push(work) } });
  // The viewer's own deferred work runs as the loop would run it, between the simulator's steps.
  const drain = () => queued.splice(0).forEach((work) => work());
  const converged = s.runUntilConverged(10_000);
  const drainer = setInterval(drain, 1);
  try {
    assert.ok((await converged) >= 0, 'converged');
  } finally {
    clearInterval(drainer);
    drain();
  }
  return { s, queued };
}

/** A heartbeat of `from`'s, as it would send it, carrying `hints`. */
function heartbeat(from: SimAgent, hints: Hint[]): Uint8Array {
  const version = from.agent.directory.held(from.name)!.version;
  const identity = { site: 'sim', name: from.name, incarnation: from.incarnation, peerPort: 7771 };
  return encodeMessage({ type: MessageType.heartbeat, ...identity, version, hints }).bytes;
}

const nobody: Hint = { nameHash: fnv1a32('agent-nobody'), incarnationTag: incarnationTag(5), version: 3 };

test("an announcement's hints are handled after the turn: its change is held first", async () => {
  const { s, queued } = await site();
  try {
    const [reporter, origin] = ['agent-1', 'agent-2'].map((n) => s.agents.get(n)!);
    const viewer = s.agents.get('viewer')!;
    const held = viewer.agent.directory.held(origin.name)!.version;
    const version = reporter.agent.directory.held(reporter.name)!.version;
    const bytes = heartbeat(reporter, [
      nobody,
      { nameHash: fnv1a32(origin.name), incarnationTag: incarnationTag(origin.incarnation), version: held + 1 },
    ]);
    const gaps = () => viewer.agent.metrics.gapsDetected.get({ signal: 'hint' });
    const unknown = () => viewer.agent.metrics.hintsIgnored.get({ reason: 'unknown-origin' });
    const [gapsBefore, unknownBefore] = [gaps(), unknown()];
    s.network.injectTo(reporter.address, viewer.address, bytes);
    await s.clock.advance(1);
    assert.is(viewer.agent.directory.held(reporter.name)!.version, version, 'the datagram itself was handled');
    assert.is(unknown() - unknownBefore, 0, 'no hint handled within the turn');
    assert.ok(queued.length >= 1, 'the hint pass waits for the turn to end');
    await s.clock.advance(200); // past the grace a hinted version waits for the origin's own datagram
    assert.is(gaps() - gapsBefore, 0, 'no catch-up asked before the turn ends');
    queued.splice(0).forEach((work) => work());
    assert.is(unknown() - unknownBefore, 1, "after the turn, the unknown origin's hint is counted");
    await s.clock.advance(200);
    assert.is(unknown() - unknownBefore, 1, "after the turn, the unknown origin's hint is counted");
    assert.is(gaps() - gapsBefore, 1, "after the turn, the hinted version is a gap of the origin's");
  } finally {
    await s.stopAll();
  }
});

test('hints whose turn ends after the agent stopped are dropped', async () => {
  const { s, queued } = await site();
  const viewer = s.agents.get('viewer')!;
  const reporter = s.agents.get('agent-1')!;
  const bytes = heartbeat(reporter, [nobody]);
  const unknown = () => viewer.agent.metrics.hintsIgnored.get({ reason: 'unknown-origin' });
  const before = unknown();
  s.network.injectTo(reporter.address, viewer.address, bytes);
  await s.clock.advance(1);
  await s.stopAll();
  queued.splice(0).forEach((work) => work());
  assert.is(unknown() - before, 0, 'a stopped agent handles no hint');
});

test.run();
