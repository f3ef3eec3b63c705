import { parentPort, workerData } from 'node:worker_threads';
import { runSeed } from './run-seed.js';

/** A worker thread of the swarm: runs the seeds it is handed, one at a time, and reports each. */
const opts = workerData as { maxAgents: number };
parentPort!.on('message', (msg: { seeds: number[] } | 'stop') => {
  if (msg === 'stop') return process.exit(0);
  void (async () => {
    for (const seed of msg.seeds) {
      const result = await runSeed(seed, { maxAgents: opts.maxAgents });
      parentPort!.postMessage({ result });
    }
    parentPort!.postMessage({ done: true });
  })();
});
