import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage } from '../../src/protocol/codec.js';
import { fnv1a32, incarnationTag, MessageType } from '../../src/protocol/messages.js';
import { SHED_STATUS } from '../../src/sync/peer-protocol.js';
import type { PeerService } from '../../src/transport/transport.js';
import { ScaleSite } from '../swarm/scale-site.js';

/**
 * s20-attack: a shed answer (503, others-sets.ts) names holders the shed asker asks at once, and the asker took
 * any address and port named there. A forging member (an open site: anyone who heartbeats) hints every viewer that
 * it holds a changed origin and sheds every catch-up asked of it, naming a victim: a host that runs no agent, and
 * another port of an agent's host. Before, a hint steered a viewer only to the hinting datagram's own address.
 *
 * A settled site of 50; agent-10 changes and its endpoint answers no catch-up for 12 s (the liar test's silent
 * origin); agent-40 is the forger.
 */
const VICTIMS = [
  { address: '10.66.0.1', port: 80, version: 1e6 },
  { address: '', port: 22, version: 1e6 }, // agent-5's host, filled in below
];

async function forgerNamingVictims(seed: number, named = VICTIMS) {
  const site = new ScaleSite(seed, 'default', 10);
  try {
    await site.startSettled(50);
    const origin = site.addressOf('agent-10');
    const victims = named.map((v) => ({ ...v, address: v.address || site.addressOf('agent-5') }));
    const forger = site.agent('agent-40');
    const shedding: PeerService = {
      handle: () => ({ status: SHED_STATUS, body: { title: 'Shed', status: SHED_STATUS, holders: victims } }),
    };
    site.sim.network.servePeer({ address: forger.address, port: 7771 }, shedding);
    const atVictims = new Map<string, number>();
    let atForger = 0;
    site.sim.network.onEvent = (e) => {
      if (e.type !== 'rpc') return;
      if (e.to === `${forger.address}:7771` && e.route === 'changes') atForger++;
      if (victims.some((v) => e.to === `${v.address}:${v.port}`)) atVictims.set(e.to, (atVictims.get(e.to) ?? 0) + 1);
    };
    const until = site.now() + 12_000;
    const lucky = new Set(site.names.slice(20, 35).map((a) => site.addressOf(a)));
    site.sim.network.dropAtSend = (from, to) => from === origin && site.now() < until && !lucky.has(to);
    site.sim.network.rpcFaults = (_from, to, route) =>
      route === 'changes' && to === origin && site.now() < until ? { kind: 'hang' } : undefined;
    const version = await site.change('agent-10');
    const watch = site.watchVersion('agent-10', version);
    const tenth = site.agent('agent-10');
    const hint = {
      nameHash: fnv1a32('agent-10'),
      incarnationTag: incarnationTag(tenth.incarnation),
      version: version + 1,
    };
    for (let t = 0; t < 20_000 && !watch.done(); t += 10) {
      if (t % 500 === 0) {
        const heartbeat = encodeMessage({
          type: MessageType.heartbeat,
          site: 'sim',
          name: forger.name,
          incarnation: forger.incarnation,
          version: forger.agent.directory.held(forger.name)!.version,
          peerPort: 7771,
          hints: [hint],
        }).bytes;
        for (const a of site.names)
          if (a !== forger.name) site.sim.network.injectTo(forger.address, site.addressOf(a), heartbeat);
      }
      await site.sim.clock.advance(10);
      watch.sweep(site.now());
    }
    return { atForger, missing: watch.missing, atVictims: [...atVictims.values()].reduce((n, c) => n + c, 0) };
  } finally {
    await site.stopAll();
  }
}

test('a forging member naming a victim in its sheds: no viewer asks an endpoint that is no agent it knows', async () => {
  const r = await forgerNamingVictims(18);
  console.log(
    `  ${r.atForger} asked of the forger, ${r.atVictims} catch-ups asked at the victims; ${r.missing} viewers missing the change at the end`,
  );
  assert.is(r.atVictims, 0, `${r.atVictims} catch-ups sent to endpoints a forger named`);
  assert.is(r.missing, 0, 'every viewer holds the change');
});

test('a forging member naming another agent: each viewer asks it about once (a hint could do as much)', async () => {
  const r = await forgerNamingVictims(18, [{ address: '', port: 7771, version: 1e6 }]);
  console.log(`  ${r.atForger} asked of the forger, ${r.atVictims} asked of agent-5; ${r.missing} missing`);
  assert.ok(r.atVictims <= 2 * 49, `${r.atVictims} catch-ups asked of the agent named, by 49 viewers`);
  assert.is(r.missing, 0, 'every viewer holds the change');
});

test.run();
