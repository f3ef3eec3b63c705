import { readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import type { Logger } from '../util/logger.js';
import { HERALD_VERSION } from '../version.js';
import type { MetricsRegistry } from './registry.js';

/**
 * The process figures dashboards expect, under their standard names (process_cpu_seconds_total,
 * process_resident_memory_bytes, process_start_time_seconds, process_open_fds, nodejs_heap_size_*),
 * and herald_build_info. Registered by the agent that owns the process: agents sharing a process
 * (tests, benchmarks) would each report the same process.
 *
 * These few are written here so that they exist whether or not prom-client is loaded: its full
 * default set (GC, event loop lag, handles, heap spaces) comes on top with --node-metrics, on by
 * default (see loadNodeMetrics); --no-node-metrics leaves prom-client unloaded, about 1 MiB less
 * resident (measured: an idle agent under the unit's flags, 48.3 against 49.4 MiB).
 */
export function registerProcessMetrics(r: MetricsRegistry): void {
  const started = Math.round(performance.timeOrigin / 1000);
  r.gauge(
    'process_cpu_seconds_total',
    'Total user and system CPU time spent in seconds.',
    () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6;
    },
    'counter',
  );
  r.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', () => process.memoryUsage.rss());
  r.gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', () => started);
  r.gauge('process_open_fds', 'Number of open file descriptors.', openFds);
  r.gauge(
    'nodejs_heap_size_used_bytes',
    'Process heap size used from Node.js in bytes.',
    () => process.memoryUsage().heapUsed,
  );
  r.gauge(
    'nodejs_heap_size_total_bytes',
    'Process heap size from Node.js in bytes.',
    () => process.memoryUsage().heapTotal,
  );
  r.gauge(
    'herald_build_info',
    'The running Herald: always 1, labelled with its version and the Node.js version.',
    () => [[{ version: HERALD_VERSION, node: process.version }, 1]],
  );
}

function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length - 1; // less the descriptor that reads the folder
  } catch {
    return 0; // not Linux: no figure rather than a wrong one
  }
}

/**
 * prom-client's full default set (--node-metrics), loaded only then. The figures registerProcessMetrics
 * already gives are left out of it, so that each name appears once.
 */
export async function loadNodeMetrics(): Promise<Registry> {
  const { collectDefaultMetrics, Registry } = await import('prom-client');
  const registry = new Registry();
  // The event-loop delay histogram samples on a libuv timer: once a second, not every 10 ms.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1000 });
  for (const name of OWN_NAMES) registry.removeSingleMetric(name);
  return registry;
}

/**
 * loadNodeMetrics on the next turn of the event loop, once the agent's start has returned: prom-client
 * (and the OpenTelemetry API it requires) took about a fifth of the start to READY, and nothing before
 * READY needs it. A scrape in between waits for it; a failure leaves /metrics without these figures.
 */
export function loadNodeMetricsAfterStart(logger: Logger): Promise<Registry | undefined> {
  return new Promise<void>((resolve) => setImmediate(resolve))
    .then(() => loadNodeMetrics())
    .catch((err: unknown) => {
      logger.error({ err }, "prom-client's default metrics could not be loaded; /metrics goes without them");
      return undefined;
    });
}

const OWN_NAMES = [
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
  'process_start_time_seconds',
  'process_open_fds',
  'nodejs_heap_size_used_bytes',
  'nodejs_heap_size_total_bytes',
];
