/**
 * Attack from the operator's day: a deploy that removes the profiles folder and writes it again
 * (`rm -rf device-profiles && cp -r new/ device-profiles`), slower than the agent's debounce. A real
 * agent process on loopback, no SIGHUP.
 */
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runHerald, testGroupPort, type Running } from '../helpers/process.js';

test('a profiles folder removed, then written again, is followed without a SIGHUP', async () => {
  // Before: the removal's reload was refused (no folder), nothing watched the path any more, and the folder
  // written again 1 s later was never read: the agent served the old set, and /readyz said "no such folder",
  // until a SIGHUP or a restart. Now the path is looked at every second while it names no folder.
  const dir = await mkdtemp(join(tmpdir(), 'herald-folder-gone-'));
  const profiles = join(dir, 'p');
  let agent: Running | undefined;
  try {
    await cp('device-profiles', profiles, { recursive: true });
    agent = runHerald([
      'agent',
      ...['--name', 'gone', '--site', `gone${process.pid}`, '--group', `239.255.70.71:${testGroupPort()}`],
      ...['--api', '127.0.0.1:0', '--peer-port', '0', '--discovery', 'multicast'],
      ...['--profiles', profiles, '--log-format', 'json'],
    ]);
    const run = agent;
    const started = await run.waitFor(() => run.logs().find((l) => l.msg === 'agent started'), 8000, 'agent started');
    const api = `http://${String(started.api)}`;
    await rm(profiles, { recursive: true });
    await run.waitFor(
      () => run.logs().some((l) => String(l.msg).includes('cannot read profiles folder')),
      5000,
      'the refused reload',
    );
    await new Promise((r) => setTimeout(r, 1000));
    await mkdir(profiles);
    await writeFile(join(profiles, 'new.yaml'), 'id: new-sensor\nname: New sensor\ncapabilities: []\n');
    const t0 = Date.now();
    let ids: string[] = [];
    while (Date.now() - t0 < 5000) {
      const body = (await (await fetch(`${api}/v1/local/devices`)).json()) as { devices: { id: string }[] };
      ids = body.devices.map((d) => d.id);
      if (ids.length === 1 && ids[0] === 'new-sensor') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    console.log(`  after ${Date.now() - t0} ms the agent offers ${JSON.stringify(ids)}`);
    assert.equal(ids, ['new-sensor'], 'the folder written again is what the agent offers');
    const ready = (await (await fetch(`${api}/readyz`)).json()) as { checks: { profiles: { detail: string } } };
    assert.not.match(ready.checks.profiles.detail, /no such folder/);
  } finally {
    await agent?.stop('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
