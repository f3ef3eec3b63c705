import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AgentContext } from '../../src/agent/agent-components.js';
import { createHeraldMetrics } from '../../src/metrics/herald-metrics.js';
import { OwedForgetsFile } from '../../src/mqtt/owed-forgets.js';
import type { PublicationScope } from '../../src/mqtt/publication.js';
import type { RetainedState } from '../../src/mqtt/retained-state.js';
import { Retirement } from '../../src/mqtt/retirement.js';
import { FakeClock } from '../../src/util/clock.js';
import { memoryLogger } from '../../src/util/logger.js';
import { syncedDuring } from '../helpers/fsyncs.js';

/**
 * s23: the forgets the MQTT bridge saves while its broker is away (Retirement.owe, the state folder's
 * mqtt-owed-forgets.json). Anyone who may forget (the API, `herald forget`) can forget made-up names: each one is
 * owed, since an unknown name may be a renamed host's ghost. Before: the list was capped at 256, oldest out, with
 * nothing said: a flood of 1,000 made-up names pushed a real forget out unlogged and uncounted, and each forget
 * queued a write of the whole list (1,002 writes for 1,002 forgets).
 */
const test = suite('attack: a flood of forgets while the broker is away');

async function withRetirement(
  run: (r: Retirement, parts: { file: string; lines: Record<string, unknown>[]; count: () => number }) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'herald-owed-flood-'));
  try {
    const metrics = createHeraldMetrics();
    const { logger, lines } = memoryLogger();
    const ctx = {
      clock: new FakeClock(),
      directory: { agent: () => undefined },
      identity: { name: 'gw' },
      metrics,
    } as unknown as Pick<AgentContext, 'clock' | 'directory' | 'identity' | 'metrics'>;
    const hooks = { retire: () => false, log: logger, stateDir: dir };
    const r = new Retirement(ctx, {} as PublicationScope, {} as unknown as RetainedState, hooks);
    const count = () => metrics.invalidInput.get({ source: 'mqtt', reason: 'owed-forgets-full' });
    await run(r, { file: join(dir, 'mqtt-owed-forgets.json'), lines, count });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a flood of made-up forgets keeps the real one owed, and what it refuses is counted and logged', () =>
  withRetirement(async (r, { file, lines, count }) => {
    const synced = await syncedDuring(async () => {
      r.owe('real-1');
      for (let i = 0; i < 1000; i++) r.owe(`made-up-${i}`);
      r.owe('real-2');
      await r.stop();
    });
    const temps = synced.filter((p) => p.endsWith('.tmp')).length;
    const owed = r.owed();
    assert.is(owed.length, 256, 'the list stays bounded');
    assert.ok(owed.includes('real-1'), 'the real forget before the flood is still owed');
    assert.is(count(), 1002 - 256, 'every forget refused is counted');
    const full = lines.filter((l) => String(l.msg).includes('owed MQTT forgets full'));
    assert.is(full.length, 1, 'the refusals are logged, once a minute');
    assert.ok(lines.length <= 256 + 1, `no log line a refused forget (${lines.length} lines)`);
    assert.ok(temps <= 3, `writes coalesce while one is under way (${temps} writes)`);
    const saved = await new OwedForgetsFile(file, memoryLogger().logger, 256).load();
    assert.equal(saved, owed, 'the file holds the list kept');
  }));

test.run();
