/** How figures are written in the report's tables, its targets and the README. */

export function fmtMs(v: number): string {
  if (!Number.isFinite(v)) return 'never';
  return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v < 10 ? 1 : 0)} ms`;
}

export function fmt(v: number, digits = 1): string {
  return Number.isFinite(v) ? v.toFixed(digits) : '-';
}

/** A growth with its sign: +0.12, -1.87. */
export function signed(v: number, digits: number): string {
  return `${v >= 0 ? '+' : ''}${fmt(v, digits)}`;
}

/** Herald's figure divided by another system's, with more digits when it is small. */
export function ratio(herald: number, other: number): string {
  if (!Number.isFinite(herald) || !Number.isFinite(other) || other === 0) return '-';
  return (herald / other).toFixed(herald / other < 0.1 ? 3 : 2);
}

/** A markdown table. */
export function table(header: string[], rows: string[][]): string {
  const line = (r: string[]) => `| ${r.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
