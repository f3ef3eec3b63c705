/** A small SVG line chart, log-scaled on y, one line per series: the style of every plot the bench writes. */

export interface ChartSeries {
  name: string;
  points: { x: number; y: number }[];
}

export interface ChartAxes {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Where each x tick stands, and its label. */
  xTicks: { x: number; label: string }[];
  /** x as a share of the plot's width, 0 to 1. */
  xShare: (x: number) => number;
  /** A decade's label on the y axis. */
  yTick: (decade: number) => string;
  /** The y range at least spans these, whatever the data. */
  yFloor: number;
  yCeiling: number;
}

const W = 640,
  H = 400,
  L = 75,
  R = 165,
  T = 40,
  B = 50;
const COLORS = ['#1b7f3b', '#c0392b', '#2c6fbb', '#8e44ad', '#d68910'];

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}

export function logLineChart(series: ChartSeries[], axes: ChartAxes): string {
  const finite = (v: number) => Number.isFinite(v) && v > 0;
  const all = series.flatMap((s) => s.points.map((p) => p.y)).filter(finite);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...all, axes.yFloor))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...all, axes.yCeiling))));
  const x = (v: number) => L + axes.xShare(v) * (W - L - R);
  const y = (v: number) => T + (1 - (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (H - T - B);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
      'font-family="sans-serif" font-size="12">',
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - R / 2}" y="22" text-anchor="middle" font-size="14">${escape(axes.title)}</text>`,
  ];
  for (let d = lo; d <= hi; d *= 10)
    parts.push(
      `<line x1="${L}" x2="${W - R}" y1="${y(d)}" y2="${y(d)}" stroke="#ddd"/>`,
      `<text x="${L - 8}" y="${y(d) + 4}" text-anchor="end">${axes.yTick(d)}</text>`,
    );
  for (const t of axes.xTicks)
    parts.push(
      `<line x1="${x(t.x)}" x2="${x(t.x)}" y1="${T}" y2="${H - B}" stroke="#eee"/>`,
      `<text x="${x(t.x)}" y="${H - B + 18}" text-anchor="middle">${escape(t.label)}</text>`,
    );
  parts.push(
    `<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">${escape(axes.xLabel)}</text>`,
    `<text transform="translate(18 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${escape(axes.yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points.filter((p) => finite(p.y)).sort((a, b) => a.x - b.x);
    const at = pts.map((p) => [x(p.x).toFixed(1), y(p.y).toFixed(1)]);
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${at.map((p) => p.join(',')).join(' ')}"/>`,
    );
    for (const [cx, cy] of at) parts.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${color}"/>`);
    const legendY = T + 10 + i * 20;
    parts.push(
      `<line x1="${W - R + 15}" x2="${W - R + 35}" y1="${legendY}" y2="${legendY}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${W - R + 40}" y="${legendY + 4}">${escape(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
