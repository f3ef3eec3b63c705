import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SHED_STATUS } from '../../src/sync/peer-protocol.js';
import type { PeerService } from '../../src/transport/transport.js';
import { ScaleSite } from '../swarm/scale-site.js';

/**
 * s20-attack: members that all shed a set and name each other in a cycle. A settled site of 50; agent-10 changes
 * and its endpoint answers no catch-up for 12 s (its datagrams reach 15 viewers); every other member sheds each
 * catch-up of agent-10 asked of it, naming the next 3 members. The shed re-asks are bounded (at most 7 at once in a
 * run, then the backoff): the viewers must not ask without bound, nor give up once the origin answers again.
 */
async function sheddingCycle(seed: number) {
  const site = new ScaleSite(seed, 'default', 10);
  try {
    await site.startSettled(50);
    const origin = site.addressOf('agent-10');
    const members = site.names.filter((n) => n !== 'agent-10');
    let version = 0;
    members.forEach((name, i) => {
      const a = site.agent(name);
      const next = [1, 2, 3].map((k) => ({
        address: site.addressOf(members[(i + k) % members.length]),
        port: 7771,
        version: 0,
      }));
      const services = (site.sim.network as unknown as { services: Map<string, PeerService> }).services;
      const real = services.get(`${a.address}:7771`)!;
      site.sim.network.servePeer(
        { address: a.address, port: 7771 },
        {
          handle: (route, q, from) =>
            route === 'changes' && q.get('origin') === 'agent-10' && !q.has('sets')
              ? {
                  status: SHED_STATUS,
                  body: { title: 'Shed', status: SHED_STATUS, holders: next.map((h) => ({ ...h, version })) },
                }
              : real.handle(route, q, from),
        },
      );
    });
    let asked = 0;
    site.sim.network.onEvent = (e) => {
      if (e.type === 'rpc' && e.route === 'changes' && e.query.includes('origin=agent-10')) asked++;
    };
    const until = site.now() + 12_000;
    const lucky = new Set(site.names.slice(20, 35).map((a) => site.addressOf(a)));
    site.sim.network.dropAtSend = (from, to) => from === origin && site.now() < until && !lucky.has(to);
    site.sim.network.rpcFaults = (_from, to, route) =>
      route === 'changes' && to === origin && site.now() < until ? { kind: 'hang' } : undefined;
    version = await site.change('agent-10');
    const watch = site.watchVersion('agent-10', version);
    let askedSilent = 0;
    for (let t = 0; t < 30_000 && !watch.done(); t += 10) {
      await site.sim.clock.advance(10);
      if (t === 12_000) askedSilent = asked;
      watch.sweep(site.now());
    }
    const times = [...watch.times.values()];
    return { missing: watch.missing, lastMs: Math.round(Math.max(0, ...times)), askedSilent, asked };
  } finally {
    await site.stopAll();
  }
}

test('members that all shed and name each other: bounded asks, every viewer complete once the origin answers', async () => {
  const r = await sheddingCycle(18);
  console.log(
    `  ${r.askedSilent} catch-ups of the set asked in the 12 s silence (49 viewers), ${r.asked} in all; ` +
      `${r.missing} missing, last at ${r.lastMs} ms`,
  );
  assert.is(r.missing, 0, 'every viewer holds the change');
  assert.ok(r.askedSilent <= 49 * 12 * 10, `${r.askedSilent} asked in 12 s: within the catch-up budget`);
});

test.run();
