import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Directory, SNAPSHOT_PAGE_BYTES, type Changes } from '../src/directory/directory.js';
import { LocalDeviceSet } from '../src/directory/local-device-set.js';
import { FakeClock } from '../src/util/clock.js';
import { device } from './helpers/sim.js';

/** An origin with `count` devices of about `tags` x 70 bytes each (tags as long as the rules allow). */
function origin(count: number, tags: number): { dir: Directory; local: LocalDeviceSet } {
  const dir = new Directory({ clock: new FakeClock() }, { site: 's' });
  const local = new LocalDeviceSet({ directory: dir }, { name: 'o', incarnation: 7, address: '10.0.0.1', host: 'o' });
  local.replaceAll(
    Array.from({ length: count }, (_, i) => device(`d${String(i).padStart(4, '0')}`, { tags: longTags(tags) })),
  );
  return { dir, local };
}

const longTags = (n: number) => Array.from({ length: n }, (_, t) => `${t}-${'t'.repeat(60)}`);

test('a snapshot larger than a page comes in pages that are disjoint, in id order, complete and each under a page', () => {
  const { dir } = origin(1024, 20); // about 1024 x 1.6 KB = 1.6 MB: two pages
  const seen: string[] = [];
  let after: string | undefined;
  let pages = 0;
  do {
    const page = dir.changesSince('o', 0, 0, after) as Extract<Changes, { kind: 'snapshot' }>;
    assert.is(page.kind, 'snapshot');
    assert.ok(JSON.stringify(page).length < SNAPSHOT_PAGE_BYTES * 1.1, `page ${pages} within a page`);
    seen.push(...page.entries.map((e) => e.device.id));
    after = page.next;
    pages++;
  } while (after !== undefined);
  assert.ok(pages >= 2, `${pages} pages`);
  assert.equal(seen, [...seen].sort(), 'id order');
  assert.is(new Set(seen).size, 1024, 'every device once');
});

test('deltas that would carry more than a page are answered with a (paged) snapshot instead', () => {
  const { dir, local } = origin(10, 1);
  assert.is(dir.changesSince('o', 7, 1)?.kind, 'deltas');
  local.replaceAll(Array.from({ length: 1000 }, (_, i) => device(`n${i}`, { tags: longTags(20) })));
  const answer = dir.changesSince('o', 7, 1);
  assert.is(answer?.kind, 'snapshot');
  assert.ok(answer?.kind === 'snapshot' && answer.next !== undefined, 'and it is paged');
});

test.run();
