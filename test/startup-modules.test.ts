import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runHerald, testGroupPort, unitNodeFlags } from './helpers/process.js';
import { readFileSync } from 'node:fs';

const test = suite('start-up loads only what the configuration uses');

/**
 * Preloaded into the agent: on SIGUSR2 it prints the CommonJS packages loaded so far (every npm package
 * the agent uses is CommonJS, ESM imports of them included), one JSON line on stderr.
 */
const REPORT = `import { createRequire } from 'node:module';
process.on('SIGUSR2', () => {
  const cache = createRequire(process.cwd() + '/x.js').cache;
  const packages = new Set(Object.keys(cache).map((p) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(p)?.[1]));
  process.stderr.write('MODULES ' + JSON.stringify([...packages].filter(Boolean)) + '\\n');
});`;

test('multicast discovery without a broker: neither mqtt nor the mDNS code (dns-packet) is loaded', async () => {
  const flags = unitNodeFlags(readFileSync('systemd/herald.service', 'utf8'));
  const preload = `data:text/javascript,${encodeURIComponent(REPORT)}`;
  const agent = runHerald(
    [
      ...['agent', '--name', 'lean', '--site', `lean${process.pid}`, '--group', `239.255.70.70:${testGroupPort()}`],
      ...['--api', '127.0.0.1:0', '--peer-port', '0', '--discovery', 'multicast', '--interface', 'lo'],
      ...['--profiles', 'device-profiles', '--log-format', 'json'],
    ],
    { nodeFlags: [...flags, '--import', preload] },
  );
  try {
    await agent.waitFor(() => agent.logs().find((l) => l.msg === 'agent started'), 8000, 'started');
    // prom-client's default metrics load just after start: once in, the report is taken after start-up.
    const loaded = async () => {
      agent.proc.kill('SIGUSR2');
      const line = await agent.waitFor(() => agent.stderr.find((l) => l.startsWith('MODULES ')), 3000, 'report');
      agent.stderr.splice(agent.stderr.indexOf(line), 1);
      return JSON.parse(line.slice('MODULES '.length)) as string[];
    };
    let packages = await loaded();
    for (let i = 0; i < 20 && !packages.includes('prom-client'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      packages = await loaded();
    }
    assert.ok(packages.includes('prom-client'), `the report sees packages: ${packages.join()}`);
    assert.not.ok(packages.includes('mqtt'), packages.join());
    assert.not.ok(packages.includes('dns-packet'), packages.join());
    assert.not.ok(packages.includes('multicast-dns'), packages.join());
  } finally {
    await agent.stop('SIGKILL');
  }
});

test.run();
