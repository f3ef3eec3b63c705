import '../helpers/no-unhandled.js';
import { readFile } from 'node:fs/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { keyId, parseKeyRing } from '../../src/security/cluster-key.js';
import { testIf } from '../helpers/requirements.js';
import { costlyJunk } from './costly-junk.js';
import { AttackSite, attackMissing, GROUP, type Monitored } from './harness.js';

/** 2,000 costly-junk datagrams a second for 4 s from `from`, half unsigned, half with a forged tag. */
async function flood(site: AttackSite, from: string | string[]) {
  const key = parseKeyRing(await readFile(site.keyFile ?? '', 'utf8')).signing;
  const junk = costlyJunk('netns', keyId(key.secret));
  const watching = site.watch(site.agents[0], 5000);
  const sent = await site.tool<{ sent: number; errors: number }>(site.attacker, 'flood', {
    from,
    group: GROUP,
    port: site.groupPort,
    rate: 2000,
    ms: 4000,
    datagrams: [junk.unsigned.toString('hex'), junk.forged.toString('hex')],
  });
  const seen = await watching;
  console.log(
    `  ${junk.unsigned.length}-byte junk: ${JSON.stringify(sent)}; RSS max ${seen.rssMaxMb} MB; ${JSON.stringify(seen.monitor)}`,
  );
  return { sent: sent.sent, ...seen };
}

/** What a user checks during a flood: every agent up and alive to the others, /livez quick, RSS bounded. */
function assertWithstood(site: AttackSite, seen: { monitor: Monitored; rssMaxMb: number }): void {
  for (const h of site.agents) assert.ok(site.running(h), `${h.name} is still running`);
  assert.equal(seen.monitor.notAlive, [], 'no agent was marked anything but alive during the flood');
  assert.ok(seen.monitor.p99 < 100, `/livez p99 ${seen.monitor.p99} ms < 100 ms`);
  assert.ok(seen.rssMaxMb < 80, `RSS stayed under 80 MB (${seen.rssMaxMb} MB)`);
}

testIf(
  test,
  attackMissing(),
  'issue 16.9: a 2,000/s flood of costly junk datagrams leaves a keyed site converged',
  async () => {
    const site = await AttackSite.create({ agents: 3 });
    try {
      const seen = await flood(site, site.attacker.address);
      assert.ok(seen.sent >= 7000, `the flood was sent (${seen.sent})`);
      assertWithstood(site, seen);
      const [observer] = site.agents;
      const unsigned = await site.metric(observer, 'herald_decode_errors_total', 'reason="unsigned"');
      const forged = await site.metric(observer, 'herald_decode_errors_total', 'reason="bad-signature"');
      const limited = await site.metric(observer, 'herald_invalid_input_total', 'reason="rate-limited"');
      assert.ok(unsigned > 0 && forged > 0, `refused as unsigned (${unsigned}) and as forged (${forged})`);
      const counted = unsigned + forged + limited;
      assert.ok(counted >= seen.sent * 0.9, `nearly every datagram counted (${counted})`);
      await site.site.allSee(
        site.agents.map((h) => `${h.name}/${h.name}-dev`),
        5000,
        'the site is still converged',
      );
    } finally {
      await site.destroy();
    }
  },
);

testIf(
  test,
  attackMissing(),
  'issue 16.9: the same flood from ten addresses, each within the per-source rate, is refused as cheaply',
  async () => {
    const site = await AttackSite.create({ agents: 3 });
    try {
      const seen = await flood(site, await site.addAddresses(site.attacker, 10));
      const checked = await site.metric(
        site.agents[0],
        'herald_decode_errors_total',
        'reason="(unsigned|bad-signature)"',
      );
      const share = Math.round((checked / seen.sent) * 100);
      assert.ok(share > 90, `the rate limit let most through to the tag check (${share} %)`);
      assertWithstood(site, seen);
    } finally {
      await site.destroy();
    }
  },
);

test.run();
