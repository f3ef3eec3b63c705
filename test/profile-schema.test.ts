import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadProfileDir } from '../src/profiles/load.js';
import { validateDevice } from '../src/profiles/validate.js';

// ajv is a dev dependency only: it checks that the schema shipped for editors says what the agent enforces.
const require = createRequire(import.meta.url);
const Ajv = require('ajv') as new (opts: object) => {
  compile(schema: object): ((doc: unknown) => boolean) & { errors?: unknown };
};

test('schema.json and the agent accept and refuse the same profiles', async () => {
  const schema = JSON.parse(await readFile('device-profiles/schema.json', 'utf8')) as object;
  const check = new Ajv({ allErrors: true, strict: false }).compile(schema);
  const samples = (await loadProfileDir('device-profiles')).devices.map((d) => d.device);
  const base = samples[0];
  const cases: unknown[] = [
    ...samples,
    { ...base, id: 'UPPER' },
    { ...base, id: 'a'.repeat(64) },
    { ...base, id: 'a'.repeat(63) },
    { ...base, name: '' },
    { ...base, extra: 1 },
    { ...base, tags: ['x', 'x'] },
    { ...base, names: ['Bad/Name'] },
    { ...base, names: ['good/name/deep'] },
    { ...base, capabilities: [{ id: 'c', kind: 'gadget' }] },
    { ...base, capabilities: [{ id: 'c' }] },
    { ...base, capabilities: [{ id: 'c', kind: 'event', readOnly: 1 }] },
    { ...base, capabilities: [{ id: 'c', kind: 'event', type: 'Temp' }] },
    { ...base, capabilities: [{ id: 'c', kind: 'event', unit: 'x'.repeat(33) }] },
    { ...base, capabilities: [{ id: 'c', kind: 'event', surprise: true }] },
    { ...base, checks: [{ id: 'web', type: 'http', url: 'http://{address}:8080/health', interval: '10s' }] },
    { ...base, checks: [{ id: 'port', type: 'tcp', address: '{address}:8080', timeout: 2 }] },
    { ...base, checks: [{ id: 'beat', type: 'ttl', ttl: '30s', failures_before_critical: 3 }] },
    { ...base, checks: [{ id: 'web', type: 'http' }] },
    { ...base, checks: [{ id: 'web', type: 'http', url: 'http://x/', address: 'x:1' }] },
    { ...base, checks: [{ id: 'port', type: 'tcp', address: 'no-port' }] },
    { ...base, checks: [{ id: 'beat', type: 'ttl', interval: 'often' }] },
    { ...base, checks: [{ id: 'beat', type: 'ttl', success_before_passing: 0 }] },
    { ...base, checks: [{ id: 'beat', type: 'cron' }] },
    { ...base, checks: [{ id: 'beat', type: 'ttl', extra: 1 }] },
    { ...base, checks: [{ id: 'web', type: 'http', url: 'http://x/', status: 700 }] },
    { id: 'x', name: 'X' },
    [],
    'text',
  ];
  for (const doc of cases) {
    const agent = validateDevice(doc).ok;
    const schemaSays = check(doc);
    assert.is(agent, schemaSays, `agent and schema disagree on ${JSON.stringify(doc).slice(0, 120)}`);
  }
});

test.run();
