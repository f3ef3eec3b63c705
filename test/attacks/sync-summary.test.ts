import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Hello, PeerService, PeerSummary } from '../../src/transport/transport.js';
import '../helpers/no-unhandled.js';
import { device, SimSite } from '../helpers/sim.js';

/**
 * Summary adoption on an open (unkeyed) site: a verified peer's summary names agents this one does not
 * know, and they are caught up from the endpoints it names. A hostile peer (a real agent that answers
 * probes as itself) names 500 made-up agents, half off the link, half at on-link addresses where nothing
 * listens. Its datagrams stop, so every agent probes it every few seconds and hears the 500 again.
 */
const REAL = 12;
const HOSTILE = 'mallory';
const HOSTILE_ADDRESS = '10.0.0.50';
const ATTACK_MS = 60_000;

function madeUp(): PeerSummary[] {
  return Array.from({ length: 500 }, (_, i) => ({
    name: `ghost-${i}`,
    incarnation: 1,
    version: 7,
    address: i % 2 === 0 ? `192.0.2.${(i >> 1) + 1}` : `10.0.9.${i >> 1}`,
    port: 7771,
  }));
}

interface Attack {
  on: boolean;
  /** Requests (hello and catch-up) the real agents sent, by destination address. */
  requests: Map<string, number>;
}

function hostileSite(seed: number, attack: Attack, ghosts = madeUp()): SimSite {
  const service = (address: string, inner: PeerService): PeerService => ({
    handle: (route, query, from) => {
      const answer = inner.handle(route, query, from);
      if (!attack.on || address !== HOSTILE_ADDRESS || route !== 'hello' || answer.status !== 200) return answer;
      const hello = answer.body as Hello;
      return { status: 200, body: { ...hello, peers: [...(hello.peers ?? []), ...ghosts] } };
    },
  });
  const site = new SimSite(seed, {}, 1000, undefined, {
    logLevel: 'silent',
    settleTurns: 1,
    wrap: {
      // The hostile agent goes quiet on multicast: every agent probes it, and learns its summary each time.
      transport: (address, inner) => ({
        start: (handler) => inner.start(handler),
        stop: () => inner.stop(),
        send: (data) => (attack.on && address === HOSTILE_ADDRESS ? undefined : inner.send(data)),
        sendTo: (data, to) => (attack.on && address === HOSTILE_ADDRESS ? undefined : inner.sendTo(data, to)),
      }),
      peers: (_address, inner) => inner,
      service,
    },
  });
  site.network.onEvent = (e) => {
    if (e.type !== 'rpc' || e.from === HOSTILE_ADDRESS) return;
    const to = e.to.split(':')[0];
    attack.requests.set(to, (attack.requests.get(to) ?? 0) + 1);
  };
  return site;
}

/** Whether every running real agent holds every real agent alive at the version its origin holds. */
function realConverged(site: SimSite, real: string[]): boolean {
  return real.every((v) =>
    real.every((o) => {
      const own = site.agents.get(o)!.agent.directory.held(o);
      const seen = site.agents.get(v)!.agent.directory.held(o);
      return seen?.state === 'alive' && seen.version === own?.version && seen.incarnation === own.incarnation;
    }),
  );
}

/**
 * The attack of the first test, its on-link ghosts at addresses where nothing answers: `vacant` ones time out (a host
 * that drops connections, or a busy agent), the others refuse. Returns requests per agent to them in the minute.
 */
async function attackOnLink(seed: number, vacant: boolean): Promise<number> {
  const attack: Attack = { on: false, requests: new Map() };
  const site = hostileSite(seed, attack);
  if (vacant) for (let i = 0; i < 250; i++) site.network.vacant.add(`10.0.9.${i}`);
  const real = Array.from({ length: REAL }, (_, i) => `agent-${i}`);
  for (const [i, name] of real.entries()) {
    await site.start(name, [device(`d-${i}`)], { index: i + 1 });
    await site.clock.advance(5);
  }
  await site.start(HOSTILE, [device('d-hostile')], { address: HOSTILE_ADDRESS });
  await site.clock.advance(10_000);
  assert.ok(realConverged(site, real), 'the site converged before the attack');

  attack.on = true;
  attack.requests.clear();
  for (let t = 0; t < ATTACK_MS; t += 1000) {
    if (t === 10_000) {
      real.push('agent-new');
      await site.start('agent-new', [device('d-new')], { index: 40 });
    }
    if (t === 20_000) await site.change('agent-0', [device('d-0'), device('d-0b')]);
    await site.clock.advance(1000);
  }

  const offLink = [...attack.requests].filter(([to]) => !to.startsWith('10.'));
  assert.equal(offLink, [], 'no request goes off the link');
  assert.ok(realConverged(site, real), 'every real agent holds every real agent, the change and the newcomer');
  const onLinkGhosts = [...attack.requests].filter(([to]) => to.startsWith('10.0.9.'));
  await site.stopAll();
  return onLinkGhosts.reduce((sum, [, n]) => sum + n, 0) / real.length;
}

test('a summary naming 500 made-up agents sends nothing off the link, a bounded number of requests on it', async () => {
  const perAgent = await attackOnLink(1821, false);
  // Per agent and minute: one catch-up per on-link ghost (adopted once: its first failed request drops it
  // for a minute), then the verification probes every open site has, 20 at once and 5 a second.
  const bound = 250 + 20 + 5 * 60;
  console.log(`  requests to made-up on-link endpoints: ${perAgent.toFixed(0)} per agent in 60 s (bound ${bound})`);
  assert.ok(perAgent <= bound, `${perAgent} requests per agent to made-up endpoints, more than ${bound}`);
});

test('the same made-up agents at endpoints that time out: a few requests each, the site converged', async () => {
  const perAgent = await attackOnLink(1821, true);
  // An adopted name whose request timed out is asked once more (a busy agent's), within a budget: 4 at once, then one
  // every 4 s (SummaryAdoption.askAgain); then the verification probes as above.
  const bound = 250 + 4 + 15 + 20 + 5 * 60;
  console.log(
    `  requests to made-up endpoints that time out: ${perAgent.toFixed(0)} per agent in 60 s (bound ${bound})`,
  );
  assert.ok(perAgent <= bound, `${perAgent} requests per agent to made-up endpoints, more than ${bound}`);
});

test('a summary naming 500 made-up agents at one on-link endpoint draws a handful of requests there', async () => {
  const attack: Attack = { on: false, requests: new Map() };
  // A third party on the link (a printer, a PLC): two agents can never share an endpoint.
  const victim = '10.0.9.9';
  const ghosts = madeUp().map((g) => ({ ...g, address: victim }));
  const site = hostileSite(1822, attack, ghosts);
  const real = Array.from({ length: 6 }, (_, i) => `agent-${i}`);
  for (const [i, name] of real.entries()) await site.start(name, [device(`d-${i}`)], { index: i + 1 });
  await site.start(HOSTILE, [device('d-hostile')], { address: HOSTILE_ADDRESS });
  await site.clock.advance(10_000);
  attack.on = true;
  attack.requests.clear();
  await site.clock.advance(10_000);
  const perAgent = (attack.requests.get(victim) ?? 0) / real.length;
  // The first catch-ups at once (8 connection slots), then the verification probes: 20 at once, 5 a second.
  const bound = 8 + 20 + 5 * 10;
  console.log(`  requests to one on-link endpoint named 500 times: ${perAgent.toFixed(0)} per agent in 10 s`);
  assert.ok(perAgent <= bound, `${perAgent} requests per agent at ${victim}, more than ${bound}`);
  assert.ok(realConverged(site, real), 'the real agents stay converged');
  await site.stopAll();
});

test.run();
