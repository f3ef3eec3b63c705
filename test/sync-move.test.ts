import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKey, parseKeyRing } from '../src/security/cluster-key.js';
import { Ring } from '../src/sync/ring.js';
import type { DatagramTransport } from '../src/transport/transport.js';
import { losersOf, MovingHost, startWithMover } from './helpers/moving-host.js';
import { device, SimSite } from './helpers/sim.js';

/**
 * attack14: an agent that moves to another address in the same life (its sockets bound again there; the old
 * address left vacant). Liveness.move() took the new peer endpoint once a probe there answered, but kept the
 * peer's `datagram` (and `answeredDatagram`) at the old address: the ring's rounds to it went on to an address
 * no host holds, and on a keyed site its beats from the new address were dropped as `unknown-beat` (beat.ts
 * matches them against the datagram endpoint on record). On a stretched site its multicasts come minutes
 * apart, so nothing set it right soon.
 */
const AGENTS = 40;
const BUDGET = 36; // B/s: heartbeats minutes apart, as at 1,000 agents
const MOVER = 'agent-7';
const NEW_ADDRESS = '10.1.0.1';

interface Measured {
  /** Unicast datagrams to the old address sent after the sender's directory held the new one. */
  late: number;
  /** Unicast datagrams to the new address, and to the old one, after the move. */
  toNew: number;
  toOld: number;
  /** Agents that lost the mover after it moved (it never stopped). */
  lost: string[];
  /** Agents holding the mover's change of after the move, and when the last did (ms after the change). */
  changed: number;
  changeMs: number | undefined;
  /** Agents whose directory holds the mover at its new address at the end. */
  atNew: number;
}

async function moveRun(seed: number, keyed: boolean): Promise<Measured> {
  const sent: { from: string; to: string; at: number; late: boolean }[] = [];
  const oldAddress = '10.0.0.8';
  const holdsNew = (viewer: string) => site.agents.get(viewer)?.agent.directory.agent(MOVER)?.address === NEW_ADDRESS;
  const counted = (address: string, inner: DatagramTransport): DatagramTransport => ({
    ...inner,
    sendTo: (data, to) => {
      const from = [...site.agents.values()].find((a) => a.address === address)?.name ?? address;
      sent.push({ from, to: to.address, at: site.clock.monotonic(), late: holdsNew(from) });
      inner.sendTo(data, to);
    },
  });
  const site: SimSite = new SimSite(seed, {}, 1000, keyed ? parseKeyRing(generateKey()) : undefined, {
    logLevel: 'silent',
    settleTurns: 1,
    wrap: { transport: counted, peers: (_a, p) => p, service: (_a, s) => s },
  });
  const host = new MovingHost(site.network, oldAddress);
  try {
    const names = await startWithMover(site, host, { count: AGENTS, mover: MOVER, heartbeatBudget: BUDGET });
    const lost = losersOf(site, MOVER);
    await host.move(NEW_ADDRESS);
    const moved = site.clock.monotonic();
    await site.clock.advance(30_000);
    // A change of the mover's, once it has been at its new address a while.
    const mover = site.agents.get(MOVER)!;
    mover.source.set([device('d-7'), device('d-7-moved')]);
    const version = () => mover.agent.local.currentVersion;
    await site.clock.advance(1);
    const changedAt = site.clock.monotonic();
    let changeMs: number | undefined;
    const holding = () =>
      names.filter((n) => n !== MOVER && (site.agents.get(n)!.agent.directory.held(MOVER)?.version ?? 0) >= version());
    for (let t = 0; t < 60_000 && changeMs === undefined; t += 100) {
      if (holding().length === AGENTS - 1) changeMs = site.clock.monotonic() - changedAt;
      else await site.clock.advance(100);
    }
    await site.clock.advance(60_000);
    const after = sent.filter((x) => x.at > moved);
    const monitors = new Ring(names).monitorsOf(MOVER);
    console.log(
      `  ${MOVER}'s monitors ${monitors.join(', ')}; subjects ${new Ring(names).subjectsOf(MOVER).join(', ')}`,
    );
    return {
      late: after.filter((x) => x.to === oldAddress && x.late).length,
      toNew: after.filter((x) => x.to === NEW_ADDRESS).length,
      toOld: after.filter((x) => x.to === oldAddress).length,
      lost,
      changed: holding().length,
      changeMs,
      atNew: names.filter((n) => n !== MOVER && holdsNew(n)).length,
    };
  } finally {
    await site.stopAll();
  }
}

function report(what: string, m: Measured): void {
  console.log(
    `  ${what}: ${m.toNew} unicast datagrams to the new address, ${m.toOld} to the old (${m.late} once the sender ` +
      `held the new); lost by ${m.lost.length} (${m.lost.join(' ')}); the change held by ${m.changed} of ` +
      `${AGENTS - 1} (${m.changeMs === undefined ? 'not all' : `all in ${m.changeMs} ms`}); ${m.atNew} hold the new address`,
  );
}

function judge(m: Measured): void {
  assert.equal(m.lost, [], 'the mover, running all along, was lost');
  assert.ok(m.toNew > 0, 'no unicast datagram reached the mover at its new address');
  assert.is(m.late, 0, 'datagrams went to the old address once the sender held the new one');
  assert.is(m.changed, AGENTS - 1, "the mover's change did not reach every agent");
  assert.is(m.atNew, AGENTS - 1, 'some agents hold the mover at its old address');
}

test('open stretched site: an agent that moves in the same life gets its rounds at the new address', async () => {
  const m = await moveRun(1414, false);
  report('open', m);
  judge(m);
});

test('keyed stretched site: an agent that moves in the same life is not lost, and its beats are taken', async () => {
  const m = await moveRun(1415, true);
  report('keyed', m);
  judge(m);
});

test.run();
