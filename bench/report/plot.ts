import { planSizes } from '../plan.js';
import type { BenchRun } from '../run.js';
import { httpPolling } from '../systems/http-polling.js';

/** A small SVG line chart, log-scaled on y: p99 latency against loss, one line per system. */
export function latencyPlot(
  series: { name: string; points: { loss: number; p99: number }[] }[],
  title: string,
): string {
  const W = 640,
    H = 400,
    L = 70,
    R = 160,
    T = 40,
    B = 50;
  const colors = ['#1b7f3b', '#c0392b', '#2c6fbb', '#8e44ad', '#d68910'];
  const all = series.flatMap((s) => s.points.map((p) => p.p99)).filter((v) => Number.isFinite(v) && v > 0);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...all, 1))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...all, 10))));
  const losses = [...new Set(series.flatMap((s) => s.points.map((p) => p.loss)))].sort((a, b) => a - b);
  const maxLoss = Math.max(...losses, 0.1);
  const x = (loss: number) => L + (loss / maxLoss) * (W - L - R);
  const y = (v: number) => T + (1 - (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (H - T - B);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
      'font-family="sans-serif" font-size="12">',
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - R / 2}" y="22" text-anchor="middle" font-size="14">${escape(title)}</text>`,
  ];
  for (let d = lo; d <= hi; d *= 10) {
    parts.push(
      `<line x1="${L}" x2="${W - R}" y1="${y(d)}" y2="${y(d)}" stroke="#ddd"/>`,
      `<text x="${L - 8}" y="${y(d) + 4}" text-anchor="end">${d >= 1000 ? `${d / 1000} s` : `${d} ms`}</text>`,
    );
  }
  for (const loss of losses) {
    parts.push(
      `<line x1="${x(loss)}" x2="${x(loss)}" y1="${T}" y2="${H - B}" stroke="#eee"/>`,
      `<text x="${x(loss)}" y="${H - B + 18}" text-anchor="middle">${Math.round(loss * 100)} %</text>`,
    );
  }
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">datagram loss at each receiver</text>`);
  parts.push(
    `<text transform="translate(18 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">` +
      'p99 latency of a change to all agents</text>',
  );
  series.forEach((s, i) => {
    const color = colors[i % colors.length];
    const pts = s.points.filter((p) => Number.isFinite(p.p99) && p.p99 > 0).sort((a, b) => a.loss - b.loss);
    const points = pts.map((p) => `${x(p.loss).toFixed(1)},${y(p.p99).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points}"/>`);
    for (const p of pts)
      parts.push(`<circle cx="${x(p.loss).toFixed(1)}" cy="${y(p.p99).toFixed(1)}" r="3" fill="${color}"/>`);
    const legendY = T + 10 + i * 20;
    parts.push(
      `<line x1="${W - R + 15}" x2="${W - R + 35}" y1="${legendY}" y2="${legendY}" ` +
        `stroke="${color}" stroke-width="2"/>`,
      `<text x="${W - R + 40}" y="${T + 14 + i * 20}">${escape(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
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
