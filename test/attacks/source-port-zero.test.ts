import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage } from '../../src/protocol/codec.js';
import { MessageType } from '../../src/protocol/messages.js';
import { device, SimSite, type SimAgent } from '../helpers/sim.js';

/**
 * An off-path forger may send with any source, port 0 included (a raw socket does; no agent's socket can). What an
 * agent answers goes to a datagram's source:
 * a monitor's round to where the peer's heartbeats came from. Node's dgram throws on a send to port 0
 * (ERR_SOCKET_BAD_PORT), and the memory network does as it does. Thrown in a liveness round's timer, it ended the
 * round for good (announcer.ts scheduleLiveness reschedules after the send); in a datagram's handler, it counted
 * herald_bugs_total on every agent that heard a multicast.
 */
async function coldStart(seed: number, n: number): Promise<SimSite> {
  const s = new SimSite(seed, {}, 1000, undefined, { logLevel: 'silent', settleTurns: 1 });
  for (let i = 0; i < n; i++) {
    await s.start(`agent-${i}`, [device(`d-${i}`)], { index: i + 1 });
    await s.clock.advance(100);
  }
  assert.ok((await s.runUntilConverged(60_000)) >= 0, 'converged');
  return s;
}

const sum = (s: SimSite, read: (a: SimAgent) => number) => s.running().reduce((n, a) => n + read(a), 0);
const dropped = (a: SimAgent) => a.agent.metrics.invalidInput.get({ source: 'datagram', reason: 'source-port' });

function heartbeatOf(a: SimAgent): Uint8Array {
  const version = a.agent.directory.held(a.name)!.version;
  const msg = { type: MessageType.heartbeat, site: 'sim', name: a.name, incarnation: a.incarnation, version };
  return encodeMessage({ ...msg, peerPort: 7771, hints: [] }).bytes;
}

test('an announcement and a heartbeat from source port 0: dropped and counted, nothing sent there', async () => {
  const s = await coldStart(2131, 6);
  try {
    const [target, other] = [s.agents.get('agent-2')!, s.agents.get('agent-3')!];
    const announce = {
      type: MessageType.announce,
      site: 'sim',
      name: 'ghost',
      incarnation: 7,
      version: 1,
      peerPort: 7771,
      hints: [],
      delta: { version: 1, added: [device('ghost-d')], updated: [], removed: [] },
    };
    s.network.inject('10.0.9.8', encodeMessage(announce).bytes, 0);
    s.network.inject(other.address, heartbeatOf(other), 0);
    await s.clock.advance(5_000);
    assert.is(
      sum(s, (a) => a.agent.metrics.bugs.get({ where: 'datagram-handler' })),
      0,
      'no bug counted',
    );
    assert.ok(dropped(target) >= 2, `${dropped(target)} datagrams from port 0 dropped`);
    assert.is(sum(s, dropped), 6 + 6, 'each counted where it arrived (a multicast by all 6)');
  } finally {
    await s.stopAll();
  }
});

test("a heartbeat forged from a monitor's address and port 0: its subjects' unicast rounds go on", async () => {
  const s = await coldStart(2132, 40);
  try {
    const unicast = (a: SimAgent) => a.agent.metrics.datagramsSent.get({ kind: 'unicast' });
    await s.clock.advance(10_000);
    const before = new Map(s.running().map((a) => [a.name, unicast(a)]));
    // Every agent's heartbeat forged once from its own address and port 0: each is some agents' monitor.
    for (const a of s.running()) s.network.inject(a.address, heartbeatOf(a), 0);
    await s.clock.advance(30_000);
    const silent = s.running().filter((a) => unicast(a) === before.get(a.name));
    console.log(`    ${sum(s, dropped)} dropped; agents whose unicast rounds stopped: ${silent.length} of 40`);
    assert.equal(
      silent.map((a) => a.name),
      [],
      'agents that sent no unicast in 30 s',
    );
    assert.ok(s.converged(), 'still converged');
  } finally {
    await s.stopAll();
  }
});

test.run();
