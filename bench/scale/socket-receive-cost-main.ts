import { socketReceiveCost } from './socket-receive-cost.js';

/**
 * `nice -n 10 node dist/bench/scale/socket-receive-cost-main.js [agents] [changes] [runs] [--bare | --both]`:
 * socket-receive-cost.ts, `runs` times; `--both` alternates the child's bookkeeping on and off (bare), first one
 * then the other, so that what the harness's observation adds is read in one process.
 */
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name) && args.splice(args.indexOf(name), 1).length > 0;
const bare = flag('--bare');
const both = flag('--both');
const [agents = 50, changes = 100, runs = 1] = args.map(Number);
for (let r = 0; r < runs; r++) {
  const modes = both ? (r % 2 === 0 ? [false, true] : [true, false]) : [bare];
  for (const b of modes) {
    const cost = await socketReceiveCost(agents, changes, b);
    console.log(JSON.stringify({ harness: !b, ...cost }));
  }
}
