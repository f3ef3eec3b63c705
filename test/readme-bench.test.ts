import { readFile } from 'node:fs/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderReadme, summarize } from '../bench/readme.js';

test("README's benchmark paragraph is the one generated from docs/benchmarks.md's latest run", async () => {
  const docs = await readFile('docs/benchmarks.md', 'utf8');
  const readme = await readFile('README.md', 'utf8');
  const block = /<!-- bench:start[^\n]*-->\n([\s\S]*?)\n<!-- bench:end -->/.exec(readme)?.[1];
  assert.ok(block, 'README.md has the bench markers');
  assert.is(block, renderReadme(summarize(docs)), 'regenerate it: node dist/bench/readme.js');
  assert.match(block, /\| p99 of a change reaching every agent, 0 % loss \| \d/);
});

test.run();
