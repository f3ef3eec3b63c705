import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Site1000Results } from './footprint-1000.js';
import { memoryAt5000, type MemoryResults } from './footprint.js';
import { mqttTargets, type MqttResults } from './mqtt-targets.js';
import { readyTimes } from './ready.js';

function available(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The targets of the agent as a service: start to READY, memory and idle CPU, MQTT. */
export interface ServiceResults {
  readyMs?: { herald: number; bareNode: number };
  memory?: MemoryResults;
  /** One agent in a site of 1,000, the rest emulated (footprint-1000.ts). */
  site1000?: Site1000Results;
  mqtt?: MqttResults;
  skipped: string[];
}

export async function serviceTargets(opts: {
  quick: boolean;
  outageSeconds: number;
  progress: (what: string) => void;
  /** --only footprint: the memory and idle CPU step alone, full run or not. */
  footprintOnly?: boolean;
}): Promise<ServiceResults> {
  const dir = await mkdtemp(join(tmpdir(), 'herald-bench-'));
  const results: ServiceResults = { skipped: [] };
  try {
    if (opts.footprintOnly) {
      opts.progress('systemd: RSS and idle CPU with 5,000 devices from 100 agents');
      results.memory = await memoryAt5000(dir, { settleSeconds: 8, idleSeconds: 30 });
      return results;
    }
    if (available('python3', ['-c', '0'])) {
      opts.progress('systemd: process start to READY');
      results.readyMs = await readyTimes(dir, opts.quick ? 3 : 7);
    } else results.skipped.push('start to READY (needs python3 for the notify socket)');
    if (!opts.quick) {
      opts.progress('systemd: RSS and idle CPU with 5,000 devices from 100 agents');
      results.memory = await memoryAt5000(dir, { settleSeconds: 8, idleSeconds: 30 });
    } else results.skipped.push('RSS with 5,000 devices (full run only)');
    if (available('mosquitto', ['-h']) || available('sh', ['-c', 'command -v mosquitto'])) {
      opts.progress(`MQTT: latency to the broker, then a ${opts.outageSeconds} s broker outage`);
      results.mqtt = await mqttTargets(opts.outageSeconds, opts.quick ? 40 : 200);
    } else results.skipped.push('MQTT (needs mosquitto)');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return results;
}
