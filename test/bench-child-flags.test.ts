import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CHILD_SEMI_SPACE_MB, scaleChildFlags } from '../bench/scale/child-flags.js';

// The scale step's children (50 agents a process) run with a larger young generation (gc16); a run may set others.

test("the children's young generation is set by default, larger than V8's 16 MB semi-space", () => {
  assert.equal(scaleChildFlags({}), [
    `--max-semi-space-size=${CHILD_SEMI_SPACE_MB}`,
    `--min-semi-space-size=${CHILD_SEMI_SPACE_MB}`,
  ]);
  assert.equal(
    scaleChildFlags({}),
    ['--max-semi-space-size=64', '--min-semi-space-size=64'],
    "four times V8's 16 MB, from the start",
  );
});

test('HERALD_SCALE_CHILD_FLAGS replaces the default: another setting, or none (V8 as it comes)', () => {
  const set = { HERALD_SCALE_CHILD_FLAGS: ' --max-semi-space-size=32  --single-threaded-gc ' };
  assert.equal(scaleChildFlags(set), ['--max-semi-space-size=32', '--single-threaded-gc']);
  assert.equal(scaleChildFlags({ HERALD_SCALE_CHILD_FLAGS: '' }), []);
});

test.run();
