import type { DeviceRecord } from '../directory/records.js';
import { EXIT } from '../config/options.js';
import { answerError, apiClientFrom } from './api-client.js';
import { CliError } from './cli-error.js';

type Values = Record<string, unknown>;

/** Lists the devices a running agent knows, from every alive agent of the site. */
export async function runLsCommand(values: Values): Promise<number> {
  const client = await apiClientFrom(values);
  const q = new URLSearchParams();
  for (const key of ['agent', 'capability', 'kind', 'tag', 'name', 'site', 'health'] as const)
    if (typeof values[key] === 'string') q.set(key, values[key]);
  if (values.includeLost) q.set('include', 'lost');
  const { status, body } = await client.get(`/v1/devices${q.size ? `?${q.toString()}` : ''}`);
  if (status !== 200) throw answerError(status, body, values);
  const devices = (body as { devices: DeviceRecord[] }).devices;
  if (values.json) {
    process.stdout.write(JSON.stringify(body, null, 2) + '\n');
    return EXIT.ok;
  }
  if (devices.length === 0) {
    process.stdout.write('no devices match\n');
    return EXIT.ok;
  }
  const rows = devices.map((d) => [
    `${d.agent}/${d.id}`,
    d.name,
    d.capabilities
      .map((c) => c.type ?? c.id)
      .filter((v, i, a) => a.indexOf(v) === i)
      .join(','),
    d.names.join(','),
  ]);
  // A site without health checks keeps the table it had; with checks, each device shows its state.
  const header = ['DEVICE', 'NAME', 'CAPABILITIES', 'NAMES'];
  if (devices.some((d) => d.health)) {
    header.push('HEALTH');
    devices.forEach((d, i) => rows[i].push(d.health?.status ?? '-'));
  }
  printTable(header, rows);
  return EXIT.ok;
}

/** Prints one device as JSON. */
export async function runGetCommand(target: string, values: Values): Promise<number> {
  const m = /^([^/]+)\/([^/]+)$/.exec(target);
  if (!m) throw new CliError('expected AGENT/DEVICE, e.g. herald get pi-greenhouse/greenhouse-climate', EXIT.usage);
  const client = await apiClientFrom(values);
  const { status, body } = await client.get(`/v1/devices/${encodeURIComponent(m[1])}/${encodeURIComponent(m[2])}`);
  if (status !== 200) throw answerError(status, body, values);
  process.stdout.write(JSON.stringify(body, null, 2) + '\n');
  return EXIT.ok;
}

export { parseSse, type SseEvent } from './sse-parser.js';

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const row of [header, ...rows])
    process.stdout.write(row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join('  ') + '\n');
}
