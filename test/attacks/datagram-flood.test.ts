import '../helpers/no-unhandled.js';
import { readFile } from 'node:fs/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { keyId, parseKeyRing } from '../../src/security/cluster-key.js';
import { testIf } from '../helpers/requirements.js';
import { costlyJunk } from './costly-junk.js';
import { AttackSite, attackMissing, GROUP } from './harness.js';

testIf(
  test,
  attackMissing(),
  'issue 16.9: a 2,000/s flood of costly junk datagrams leaves a keyed site converged',
  async () => {
    const site = await AttackSite.create({ agents: 3 });
    try {
      const key = parseKeyRing(await readFile(site.keyFile, 'utf8')).signing;
      const junk = costlyJunk('netns', keyId(key.secret));
      const [observer] = site.agents;
      const watching = site.watch(observer, 5000);
      const flood = await site.tool<{ sent: number; errors: number }>(site.attacker, 'flood', {
        from: site.attacker.address,
        group: GROUP,
        port: site.groupPort,
        rate: 2000,
        ms: 4000,
        datagrams: [junk.unsigned.toString('hex'), junk.forged.toString('hex')],
      });
      const { monitor, rssMaxMb } = await watching;
      console.log(
        `  ${junk.unsigned.length}-byte junk, ${JSON.stringify(flood)}; RSS max ${rssMaxMb} MB; ${JSON.stringify(monitor)}`,
      );
      assert.ok(flood.sent >= 7000, `the flood was sent (${flood.sent})`);
      for (const h of site.agents) assert.ok(site.running(h), `${h.name} is still running`);
      assert.equal(monitor.notAlive, [], 'no agent was marked anything but alive during the flood');
      assert.ok(monitor.p99 < 100, `/livez p99 ${monitor.p99} ms < 100 ms`);
      assert.ok(rssMaxMb < 80, `RSS stayed under 80 MB (${rssMaxMb} MB)`);
      const unsigned = await site.metric(observer, 'herald_decode_errors_total', 'reason="unsigned"');
      const forged = await site.metric(observer, 'herald_decode_errors_total', 'reason="bad-signature"');
      const limited = await site.metric(observer, 'herald_invalid_input_total', 'reason="rate-limited"');
      assert.ok(unsigned > 0 && forged > 0, `refused as unsigned (${unsigned}) and as forged (${forged})`);
      assert.ok(
        unsigned + forged + limited >= flood.sent * 0.9,
        `nearly every datagram counted (${unsigned + forged + limited})`,
      );
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

test.run();
