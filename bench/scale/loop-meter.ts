import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * How loaded one process was over a phase: its event-loop delay and CPU. A bench process whose loop
 * is late delays every datagram and HTTP answer of the agents it runs, so a figure taken then
 * measures the harness as much as the protocol.
 */

export interface ProcessLoad {
  /** 'bench' (the process that measures), or 'agents i-j' for a child running agents i to j. */
  role: string;
  pid: number;
  /** Of one core, over the phase. */
  cpuPercent: number;
  /** CPU time over the phase (user + system). */
  cpuSeconds: number;
  lagP99Ms: number;
  lagMaxMs: number;
  rssMiB: number;
}

/** Above this event-loop delay p99 in any process, a scale row is marked harness-limited. */
export const HARNESS_LAG_P99_MS = 50;

export class LoopMeter {
  private readonly histogram = monitorEventLoopDelay({ resolution: 10 });
  private cpu = process.cpuUsage();
  private at = performance.now();

  constructor(private readonly role: string) {
    this.histogram.enable();
  }

  /** The load since the last sample, then starts the next phase. */
  sample(): ProcessLoad {
    const cpu = process.cpuUsage(this.cpu);
    const ms = Math.max(1, performance.now() - this.at);
    const load: ProcessLoad = {
      role: this.role,
      pid: process.pid,
      cpuPercent: ((cpu.user + cpu.system) / 1000 / ms) * 100,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      // No sample over a long phase means the loop never turned in it: late by the whole phase.
      lagP99Ms: this.histogram.count === 0 && ms > 100 ? ms : this.histogram.percentile(99) / 1e6,
      lagMaxMs: this.histogram.max / 1e6,
      rssMiB: process.memoryUsage().rss / 2 ** 20,
    };
    this.histogram.reset();
    this.cpu = process.cpuUsage();
    this.at = performance.now();
    return load;
  }

  stop(): void {
    this.histogram.disable();
  }
}
