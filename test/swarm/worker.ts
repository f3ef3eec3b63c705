import { parentPort } from 'node:worker_threads';
import { runSeed } from './run-seed.js';

/** A worker thread of the swarm: runs the seeds it is handed, one at a time, and reports each. */
parentPort!.on('message', (msg: { seeds: { seed: number; maxAgents: number }[] }) => {
  void (async () => {
    for (const { seed, maxAgents } of msg.seeds) {
      parentPort!.postMessage({ running: seed });
      const result = await runSeed(seed, { maxAgents });
      parentPort!.postMessage({ result });
    }
    parentPort!.postMessage({ done: true });
  })();
});
