import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Directory } from '../src/directory/directory.js';
import { createHeraldMetrics } from '../src/metrics/herald-metrics.js';
import { generateKey, parseKeyRing, type KeyRing } from '../src/security/cluster-key.js';
import { EndpointProofs, PROOF_EVERY_PERIODS, PROOFS_PER_PERIOD } from '../src/sync/endpoint-proofs.js';
import { checkHello } from '../src/sync/peer-protocol.js';
import { DirectoryPeerService, helloOf } from '../src/sync/peer-service.js';
import type { Peer } from '../src/sync/peer-table.js';
import { MONITORS, Ring } from '../src/sync/ring.js';
import type { SyncContext } from '../src/sync/sync-context.js';
import type { NetworkEvent } from '../src/transport/memory-network.js';
import { helloQuery, type Hello, type PeerService } from '../src/transport/transport.js';
import { FakeClock } from '../src/util/clock.js';
import { device, SimSite } from './helpers/sim.js';

/**
 * A restarted agent learns its peers second-hand (its cold start's summaries), and on a stretched site a monitor
 * multicasts minutes apart: its rounds had nowhere to go (spree seed 331, test sync-ring-restarted-subject). It
 * now asks each monitor never heard for its datagram endpoint with a liveness probe at the monitor's peer
 * endpoint (endpoint-proofs.ts). An address a summary names is never sent datagrams on the summary's word.
 */
const AGENTS = 40;
const BUDGET = 36; // B/s: heartbeats minutes apart, as at 1,000 agents

/** Where each address sent unicast datagrams (lost ones too), and every hello that asked for a datagram endpoint (from>to). */
interface Seen {
  unicast: Map<string, Set<string>>;
  proofs: Map<string, number>;
}

function watch(site: SimSite, seen: Seen): void {
  site.network.onEvent = (e: NetworkEvent) => {
    if (e.type === 'datagram' && e.kind === 'unicast') {
      if (!seen.unicast.has(e.from)) seen.unicast.set(e.from, new Set());
      seen.unicast.get(e.from)!.add(e.to);
    }
    if (e.type === 'rpc' && e.route === 'hello' && new URLSearchParams(e.query).get('datagram') === '1') {
      const key = `${e.from}>${e.to.split(':')[0]}`;
      seen.proofs.set(key, (seen.proofs.get(key) ?? 0) + 1);
    }
  };
}

/** A stretched site of AGENTS agents, settled; `forge` rewrites the summaries served to whom it chooses. */
async function stretchedSite(seed: number, keys: KeyRing | undefined, forge?: (to: string, h: Hello) => Hello) {
  const service = (_address: string, inner: PeerService): PeerService => ({
    handle: (route, query, from) => {
      const answer = inner.handle(route, query, from);
      if (!forge || route !== 'hello' || answer.status !== 200) return answer;
      return { status: 200, body: forge(from.address, answer.body as Hello) };
    },
  });
  const site = new SimSite(seed, {}, 1000, keys, {
    logLevel: 'silent',
    settleTurns: 1,
    wrap: { transport: (_a, t) => t, peers: (_a, p) => p, service },
  });
  const names = Array.from({ length: AGENTS }, (_, i) => `agent-${i}`);
  for (const [i, name] of names.entries()) {
    await site.start(name, [device(`d-${i}`)], { index: i + 1, init: { heartbeatBudget: BUDGET } });
    await site.clock.advance(10);
  }
  await site.clock.advance(20_000);
  return { site, names };
}

/** Crashes `name` and starts it again in a new life at the same address: it knows its peers only second-hand. */
async function restart(site: SimSite, name: string, index: number): Promise<void> {
  await site.crash(name);
  await site.clock.advance(500);
  await site.start(name, [device(`d-${index}`)], { index: index + 1, init: { heartbeatBudget: BUDGET } });
}

for (const keyed of [false, true]) {
  const kind = keyed ? 'keyed' : 'open';
  test(`${kind} site: a restarted subject's rounds reach both its monitors within seconds, one proof each`, async () => {
    const { site, names } = await stretchedSite(3310 + Number(keyed), keyed ? parseKeyRing(generateKey()) : undefined);
    try {
      const subject = 'agent-7';
      const monitors = new Ring(names).monitorsOf(subject).map((m) => site.agents.get(m)!.address);
      const seen: Seen = { unicast: new Map(), proofs: new Map() };
      watch(site, seen);
      await restart(site, subject, 7);
      const from = site.agents.get(subject)!.address;
      await site.clock.advance(10_000);
      const reached = [...(seen.unicast.get(from) ?? [])];
      console.log(`  ${kind}: ${subject} sent rounds to ${reached.join(', ')} (monitors ${monitors.join(', ')})`);
      for (const m of monitors) assert.ok(reached.includes(m), `no round reached monitor ${m} in 10 s`);
      for (const m of monitors) assert.ok((seen.proofs.get(`${from}>${m}`) ?? 0) <= 1, `proofs asked of ${m}`);
      const proofs = site.agents.get(subject)!.agent.metrics.endpointProofs.get();
      assert.ok(proofs <= MONITORS, `${proofs} endpoint proofs in 10 s`);
    } finally {
      await site.stopAll();
    }
  });

  test(`${kind} site: a summary naming a monitor at another host's address draws no rounds there`, async () => {
    // The restarted subject hears of its monitor only from summaries that place it elsewhere: a third party
    // where nothing listens (a printer), or another agent (not a ring neighbour of the subject).
    for (const printer of [true, false]) {
      const state = { subject: '', monitor: '', at: '' };
      const forge = (to: string, hello: Hello): Hello => {
        if (to !== state.subject || !hello.peers) return hello;
        const peers = hello.peers.map((p) => (p.name === state.monitor ? { ...p, address: state.at } : p));
        return { ...hello, peers };
      };
      const seed = 3312 + Number(keyed) * 2 + Number(printer);
      const { site, names } = await stretchedSite(seed, keyed ? parseKeyRing(generateKey()) : undefined, forge);
      try {
        const subject = 'agent-7';
        const ring = new Ring(names);
        const monitor = ring.monitorsOf(subject)[0];
        const near = new Set([subject, ...ring.monitorsOf(subject), ...ring.subjectsOf(subject)]);
        const far = names.find((n) => !near.has(n) && !ring.monitorsOf(n).includes(subject))!;
        Object.assign(state, { subject: site.agents.get(subject)!.address, monitor });
        state.at = printer ? '10.0.9.9' : site.agents.get(far)!.address;
        const seen: Seen = { unicast: new Map(), proofs: new Map() };
        watch(site, seen);
        await restart(site, subject, 7);
        await site.clock.advance(30_000);
        // Another agent's own subjects send it their rounds: there only the misled subject's datagrams count.
        const senders = [...seen.unicast].filter(
          ([from, to]) => to.has(state.at) && (printer || from === state.subject),
        );
        const toForged = senders.map(([from]) => from);
        assert.equal(toForged, [], `unicast datagrams to ${state.at}, where a summary placed ${monitor}`);
        const asked = seen.proofs.get(`${state.subject}>${state.at}`) ?? 0;
        console.log(`  ${kind}, ${monitor} placed at ${state.at}: ${asked} endpoint proofs asked there in 30 s`);
        assert.ok(asked <= Math.ceil(30 / PROOF_EVERY_PERIODS), `${asked} endpoint proofs asked there`);
      } finally {
        await site.stopAll();
      }
    }
  });
}

test('a hello names the datagram endpoint only when asked, and a malformed port is refused', () => {
  const directory = new Directory({ clock: new FakeClock() }, { site: 's' });
  const service = new DirectoryPeerService({
    directory,
    identity: helloOf(
      { name: 'a', site: 's', incarnation: 5 },
      () => 1,
      directory,
      () => 40_123,
    ),
  });
  const from = { address: '10.0.0.2', port: 0 };
  const asker = { name: 'b', incarnation: 3, port: 7771 };
  const hello = (datagram: boolean) =>
    checkHello(service.handle('hello', helloQuery(false, { ...asker, datagram }), from).body);
  assert.is(hello(true).datagramPort, 40_123);
  assert.is(hello(false).datagramPort, undefined, 'not named unasked: probes stay the size they were');
  const answer = { name: 'a', site: 's', incarnation: 5, version: 1, format: 1 };
  for (const datagramPort of [0, 70_000, 1.5, '7770'])
    assert.throws(() => checkHello({ ...answer, datagramPort }), /datagramPort/, String(datagramPort));
});

/** A context with just what EndpointProofs reads. */
function proofContext(clock: FakeClock): SyncContext {
  const metrics = createHeraldMetrics();
  return { c: { clock, metrics }, cfg: { livenessPeriodMs: 1000 } } as unknown as SyncContext;
}

test('endpoint proofs: each monitor once in PROOF_EVERY_PERIODS, and PROOFS_PER_PERIOD a period in all', async () => {
  const clock = new FakeClock(0, undefined, 1);
  const asked: string[] = [];
  const proofs = new EndpointProofs(proofContext(clock), (peer) => {
    asked.push(peer.name);
    return Promise.resolve('alive');
  });
  const peer = (name: string) => ({ name }) as Peer;
  // A churning ring: a new pair of monitors, never heard, every period for a minute.
  for (let s = 0; s < 60; s++) {
    for (const name of [`m-${s}`, `m-${s + 1}`]) assert.is(proofs.reaches(peer(name)), false);
    await clock.advance(1000);
  }
  assert.ok(asked.length <= MONITORS + 60 * PROOFS_PER_PERIOD, `${asked.length} proofs in 60 periods`);
  // The same two monitors every period: each asked once in PROOF_EVERY_PERIODS.
  asked.length = 0;
  for (let s = 0; s < 60; s++) {
    for (const name of ['a', 'b']) proofs.reaches(peer(name));
    await clock.advance(1000);
  }
  const each = Math.ceil(60 / PROOF_EVERY_PERIODS);
  assert.ok(asked.filter((n) => n === 'a').length <= each, `a asked ${asked.filter((n) => n === 'a').length} times`);
  // One that answered with its endpoint is reached at once, and asked no more.
  asked.length = 0;
  const heard = { name: 'c', answeredDatagram: { address: '10.0.0.3', port: 7770 } } as Peer;
  assert.is(proofs.reaches(heard), true);
  assert.equal(asked, []);
});

test.run();
