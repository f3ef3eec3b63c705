import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Ring } from '../../src/sync/ring.js';
import type { LocalHealth } from '../../src/sync/local-health.js';
import type { Asker, PeerService } from '../../src/transport/transport.js';
import '../helpers/no-unhandled.js';
import { device, SimSite, type SimAgent } from '../helpers/sim.js';

/**
 * Attack on 8bf04f8 (indirect probes) by a hostile member of an open site that is a ring neighbour of an
 * honest monitor. The monitor, late (a GC pause), checks a live subject whose datagrams it misses (a lossy
 * link into it) and that answers probes slowly (a loaded host, 600 ms: inside every prober's deadline), and
 * asks two neighbours to probe it; the hostile one answers the check at once with a verdict (`gone=`), before
 * any honest helper's probe or the monitor's own could answer. The monitor sends its notice on that verdict
 * alone: every agent probes the live subject, and each then distrusts the honest monitor (its later true
 * notices unheard for a while), which the hostile member could not do in its own name.
 */
const AGENTS = 40;
const names = Array.from({ length: AGENTS }, (_, i) => `agent-${i}`);
const ring = new Ring(names);
const SUBJECT = 'agent-7';
const MONITOR = ring.monitorsOf(SUBJECT)[0];
const HOSTILE = [...ring.subjectsOf(MONITOR), ...ring.monitorsOf(MONITOR)].find((n) => n !== SUBJECT)!;
const addressOf = (name: string) => `10.0.0.${names.indexOf(name) + 1}`;

/** The monitor's own health (private to its agent): a test makes its loop look late. */
function healthOf(sim: SimAgent): LocalHealth {
  return (sim.agent as unknown as { sync: { liveness: { health: LocalHealth } } }).sync.liveness.health;
}

async function run(lie: boolean) {
  const made: { site?: SimSite } = {}; // the service below is made before its site
  // The hostile member's endpoint: a check from the monitor about its subject is answered with a verdict at once.
  const service = (address: string, inner: PeerService): PeerService => ({
    handle: (route, query, from) => {
      if (lie && address === addressOf(HOSTILE) && route === 'hello' && query.get('check') === SUBJECT) {
        const me = made.site!.agents.get(HOSTILE)!;
        const asker: Asker = { name: HOSTILE, incarnation: me.incarnation, port: 7771, gone: SUBJECT };
        const client = made.site!.network.peerClient(address);
        const verdict = () =>
          void client.hello({ address: from.address, port: 7771 }, 1000, false, asker).catch(() => {});
        verdict();
        made.site!.clock.setTimeout(verdict, 1100); // and again once an honest helper's could have come
      }
      return inner.handle(route, query, from);
    },
  });
  const site = new SimSite(2215, {}, 1000, undefined, {
    logLevel: 'silent',
    settleTurns: 1,
    wrap: { transport: (_, t) => t, peers: (_, p) => p, service },
  });
  made.site = site;
  try {
    for (let i = 0; i < AGENTS; i++) {
      await site.start(names[i], [device(`d-${i}`)], { index: i + 1 });
      await site.clock.advance(5);
    }
    await site.clock.advance(15_000);
    const monitor = site.agents.get(MONITOR)!;
    const sent = () => monitor.agent.metrics.announcementsSent.get({ type: 'notice' });
    const before = sent();
    // The subject's datagrams no longer reach its monitor; its peer endpoint still answers everyone.
    let probes = 0;
    site.network.onEvent = (e) => {
      if (e.type === 'rpc' && e.route === 'hello' && e.to === `${addressOf(SUBJECT)}:7771`) probes++;
    };
    site.network.dropAtSend = (from, to) => from === addressOf(SUBJECT) && to === addressOf(MONITOR);
    // A loaded host: it answers probes, 600 ms late (within every prober's deadline, the helpers' too).
    site.network.rpcFaults = (_, to, route) =>
      to === addressOf(SUBJECT) && route === 'hello' ? { kind: 'late', delayMs: 600 } : undefined;
    for (let t = 0; t < 40_000; t += 250) {
      healthOf(monitor).timerFired(site.clock.monotonic() - 600); // a loop 600 ms late: local health 1
      await site.clock.advance(250);
    }
    site.network.dropAtSend = undefined;
    site.network.rpcFaults = undefined;
    site.network.onEvent = undefined;
    const falselyLost = site
      .running()
      .filter((a) => a.name !== SUBJECT && a.agent.directory.held(SUBJECT)?.state !== 'alive');
    return { notices: sent() - before, probes, falselyLost: falselyLost.map((a) => a.name) };
  } finally {
    await site.stopAll();
  }
}

// Fails on 1fa7fa2 (8 notices in 40 s, 127 probes of the live subject; honest helpers 0 and 33): a verdict is
// now judged a period after the ask, when the subject's answer to the monitor's own probe has come.
test('a hostile helper’s instant verdict makes no honest late monitor tell the site of a live agent', async () => {
  const honest = await run(false);
  const attacked = await run(true);
  console.log(
    `  ${MONITOR}'s notices about live ${SUBJECT} in 40 s: honest helpers ${honest.notices} (${honest.probes} probes of it), ${HOSTILE} lying ${attacked.notices} (${attacked.probes})`,
  );
  assert.equal(honest.notices, 0, 'honest helpers: no notice');
  assert.equal(attacked.notices, 0, `${MONITOR} multicast notices about a live agent on ${HOSTILE}'s verdict`);
  assert.equal(attacked.falselyLost, [], 'no agent lost the live subject');
});

test.run();
