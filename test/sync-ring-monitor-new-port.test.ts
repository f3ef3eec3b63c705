import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKey, parseKeyRing } from '../src/security/cluster-key.js';
import { Ring } from '../src/sync/ring.js';
import type { DatagramTransport, Endpoint } from '../src/transport/transport.js';
import { device, SimSite } from './helpers/sim.js';

/**
 * attack13: a monitor that restarts binds its datagram socket anew (port 0: another port each start). Its
 * subjects' rounds must follow it to the new port. The memory network has no ports, so this site gives each
 * address the port its current process bound, stamps it on what that address sends, and drops a unicast datagram
 * sent to any other port of the address (the kernel's port unreachable). Its subject learns the new life from a
 * probe's answer or a summary, not from a datagram of it (its multicasts to the subject are lost): the peer's
 * `datagram` (where the old process's datagrams came from) outlived the life (transitions.newLife cleared only
 * `answeredDatagram`), and roundEndpoint prefers it: every round went to the dead port, and no proof was asked.
 */
const AGENTS = 40;
const BUDGET = 36; // B/s: heartbeats minutes apart, as at 1,000 agents

interface Sent {
  at: number;
  to: Endpoint;
  /** To a port nothing is bound to at that address now: lost. */
  dead: boolean;
  /** Sent once the sender held the receiver's current life (see the test's `adopted`). */
  adopted: boolean;
}

type Judge = { now: () => number; adopted: (from: string, to: string) => boolean };

function portedWrap(ports: Map<string, number>, sent: Map<string, Sent[]>, judge: Judge) {
  const portOf = (address: string) => ports.get(address) ?? 7770;
  return (address: string, inner: DatagramTransport): DatagramTransport => ({
    start: (onMessage) =>
      inner
        .start((data, from, kind) => onMessage(data, { address: from.address, port: portOf(from.address) }, kind))
        .then((started) => ({ ...started, port: portOf(address) })),
    send: (data) => inner.send(data),
    sendTo: (data, to) => {
      const dead = to.port !== portOf(to.address);
      if (!sent.has(address)) sent.set(address, []);
      sent.get(address)!.push({ at: judge.now(), to, dead, adopted: judge.adopted(address, to.address) });
      if (!dead) inner.sendTo(data, to);
    },
    stop: () => inner.stop(),
  });
}

test('keyed stretched site: a restarted monitor on a new datagram port gets its subject rounds there', async () => {
  const ports = new Map<string, number>();
  const sent = new Map<string, Sent[]>();
  const judge: Judge = { now: () => 0, adopted: () => false };
  const site = new SimSite(1313, {}, 1000, parseKeyRing(generateKey()), {
    logLevel: 'silent',
    settleTurns: 1,
    wrap: {
      transport: portedWrap(ports, sent, judge),
      peers: (_a, p) => p,
      service: (_a, s) => s,
    },
  });
  judge.now = () => site.clock.monotonic();
  try {
    const names = Array.from({ length: AGENTS }, (_, i) => `agent-${i}`);
    for (const [i, name] of names.entries()) {
      await site.start(name, [device(`d-${i}`)], { index: i + 1, init: { heartbeatBudget: BUDGET } });
      await site.clock.advance(10);
    }
    await site.clock.advance(20_000);
    const subject = 'agent-7';
    const monitor = new Ring(names).monitorsOf(subject)[0];
    const [s, m] = [site.agents.get(subject)!.address, site.agents.get(monitor)!.address];
    const index = names.indexOf(monitor);
    // The monitor's multicasts to its subject are lost for a while: the subject learns its new life otherwise.
    let deafUntil = Infinity;
    site.network.dropAtSend = (from, to, kind) =>
      from === m && to === s && kind === 'multicast' && judge.now() < deafUntil;
    await site.crash(monitor);
    await site.clock.advance(500);
    ports.set(m, 7780);
    await site.start(monitor, [device(`d-${index}`)], { index: index + 1, init: { heartbeatBudget: BUDGET } });
    const restarted = site.clock.monotonic();
    const life = site.agents.get(monitor)!.incarnation;
    const held = () => site.agents.get(subject)!.agent.directory.held(monitor)?.incarnation;
    judge.adopted = (from, to) => from === s && to === m && held() === life;
    deafUntil = restarted + 60_000;
    // The subject's own changes are what its rounds carry: a few, so rounds are due.
    for (let k = 0; k < 6; k++) {
      site.agents.get(subject)!.source.set([device(`d-7`), device(`d-7-${k}`)]);
      await site.clock.advance(5_000);
    }
    await site.clock.advance(30_000);
    const toMonitor = (sent.get(s) ?? []).filter((x) => x.to.address === m && x.at > restarted);
    const dead = toMonitor.filter((x) => x.dead);
    const live = toMonitor.filter((x) => !x.dead);
    const late = dead.filter((x) => x.adopted);
    const at = toMonitor.find((x) => x.adopted)?.at;
    console.log(
      `  ${subject} -> restarted ${monitor}: new life held ${at === undefined ? 'never' : `${at - restarted} ms`} ` +
        `after the restart; ${live.length} datagrams to its new port, ${dead.length} to the old (${late.length} ` +
        'of them with the new life held)',
    );
    assert.ok(live.length > 0, 'no datagram reached the restarted monitor at its new port in 60 s');
    assert.is(late.length, 0, `${late.length} datagrams to the old process's port, the new life held`);
  } finally {
    await site.stopAll();
  }
});

test.run();
