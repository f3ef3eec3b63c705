import { planSizes } from '../plan.js';
import type { BenchRun } from '../run.js';
import { httpPolling } from '../systems/http-polling.js';
import { logLineChart } from './chart.js';

/** p99 latency against loss, one line per system. */
export function latencyPlot(
  series: { name: string; points: { loss: number; p99: number }[] }[],
  title: string,
): string {
  const losses = [...new Set(series.flatMap((s) => s.points.map((p) => p.loss)))].sort((a, b) => a - b);
  const maxLoss = Math.max(...losses, 0.1);
  return logLineChart(
    series.map((s) => ({ name: s.name, points: s.points.map((p) => ({ x: p.loss, y: p.p99 })) })),
    {
      title,
      xLabel: 'datagram loss at each receiver',
      yLabel: 'p99 latency of a change to all agents',
      xTicks: losses.map((loss) => ({ x: loss, label: `${Math.round(loss * 100)} %` })),
      xShare: (loss) => loss / maxLoss,
      yTick: (d) => (d >= 1000 ? `${d / 1000} s` : `${d} ms`),
      yFloor: 1,
      yCeiling: 10,
    },
  );
}

/** p99 against loss for each system run at the plot's size (50 agents, else the smallest). */
export function runPlot(run: BenchRun): string {
  const { plan, results } = run;
  const sizes = planSizes(plan);
  const plotN = sizes.includes(50) ? 50 : sizes[0];
  const plotLosses = [...new Set(plan.systems.flatMap((p) => p.losses))];
  const series = plan.systems
    .filter((p) => p.sizes.includes(plotN))
    .map(({ system: s }) => ({
      name: s.name,
      points: results.propagation
        .filter((r) => r.system === s.name && r.agents === plotN)
        // Polling does not see datagram loss: its one figure stands for every loss.
        .flatMap((r) =>
          s === httpPolling
            ? plotLosses.map((loss) => ({ loss, p99: r.latencyMs.p99 }))
            : [{ loss: r.loss, p99: r.latencyMs.p99 }],
        ),
    }));
  return latencyPlot(series, `p99 latency of a change, ${plotN} agents, heartbeat ${run.machine.heartbeatMs} ms`);
}
