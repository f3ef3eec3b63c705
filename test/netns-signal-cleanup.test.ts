import { execFileSync, spawn } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { netnsMissing } from './helpers/netns.js';
import { testIf } from './helpers/requirements.js';

/**
 * A test run stopped by signals must not leave its namespaces behind. `timeout`, a lane runner forwarding its own
 * SIGTERM and an operator's kill can each send one: a run killed twice while its 41-host bed was being made left
 * 9 namespaces, their veths and the bridge (the first SIGTERM's exit handler was removing them when the second,
 * with no listener left, killed the process by default).
 */
const test = suite('test bed: removed at exit, also when signalled twice');
const missing = netnsMissing();

const CHILD = `
import { Testbed } from './dist/test/helpers/netns.js';
const bed = new Testbed();
await bed.create(12);
console.log(bed.id);
setInterval(() => {}, 1000);
`;

const leftovers = (id: string) =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.startsWith(`herald-${id}-`)).length +
  execFileSync('ip', ['-br', 'link'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(id)).length;

/** What the failing run left, removed so that the next run starts clean (a pair goes with either end). */
function removeBed(id: string): void {
  const run = (args: string[]) => {
    try {
      execFileSync('ip', args, { stdio: 'ignore' });
    } catch {
      // gone with its pair or its namespace
    }
  };
  for (const l of execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n'))
    if (l.startsWith(`herald-${id}-`)) run(['netns', 'del', l.split(' ')[0]]);
  for (const l of execFileSync('ip', ['-br', 'link'], { encoding: 'utf8' }).split('\n'))
    if (l.includes(id)) run(['link', 'del', l.split(/[\s@]/)[0]]);
}

testIf(test, missing, 'two SIGTERMs in a row: no namespace, veth or bridge of the bed left', async () => {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], { stdio: ['ignore', 'pipe', 'inherit'] });
  const id = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', () => reject(new Error('the bed was not made')));
  });
  try {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 30)); // inside the exit handler's removals
    child.kill('SIGTERM');
    await exited;
    assert.is(leftovers(id), 0, `namespaces and links of bed ${id} left`);
  } finally {
    removeBed(id);
  }
});

test.run();
