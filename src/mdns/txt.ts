import type { Device } from '../profiles/model.js';

/** What an agent's `_herald._tcp` TXT record says. */
export interface HeraldTxt {
  name: string;
  site: string;
  incarnation: number;
  version: number;
  path: string;
  format: number;
}

/** TXT record fields have a max data length of 255 bytes (RFC 6763 §6.1); we keep the whole record ≤ 200. */
export const MAX_TXT_BYTES = 200;

export function heraldTxt(t: HeraldTxt): Record<string, string> {
  // txtvers first (RFC 6763 §6.7): a later, incompatible layout says so in its first key.
  const txt = {
    txtvers: '1',
    name: t.name,
    site: t.site,
    inc: String(t.incarnation),
    ver: String(t.version),
    path: t.path,
    fmt: String(t.format),
  };
  const size = txtBytes(txt);
  if (size > MAX_TXT_BYTES) throw new Error(`TXT record would be ${size} bytes, more than ${MAX_TXT_BYTES}`);
  return txt;
}

/** Reads a peer's TXT record; undefined for anything that is not a Herald agent of a known format. */
export function parseHeraldTxt(txt: unknown): HeraldTxt | undefined {
  if (!txt || typeof txt !== 'object') return undefined;
  const t = txt as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : undefined);
  const name = str(t.name);
  const site = str(t.site);
  const incarnation = Number(str(t.inc));
  const version = Number(str(t.ver));
  const format = Number(str(t.fmt));
  if (
    !name ||
    !site ||
    !/^[a-z0-9][a-z0-9._-]{0,62}$/.test(name) ||
    !Number.isSafeInteger(incarnation) ||
    incarnation < 1
  )
    return undefined;
  if (!Number.isSafeInteger(version) || version < 0 || format !== 1) return undefined;
  return { name, site, incarnation, version, path: str(t.path) ?? '/v1/peer', format };
}

/** A device's `_http._tcp` TXT: its agent, id, capability types, and the path of its endpoint. */
export function deviceTxt(agent: string, device: Device, path: string): Record<string, string> {
  const types = [...new Set(device.capabilities.map((c) => c.type ?? c.id))];
  const txt = { txtvers: '1', path: path.slice(0, 100), agent, device: device.id, caps: types.join(',') };
  while (txtBytes(txt) > MAX_TXT_BYTES && txt.caps.includes(','))
    txt.caps = txt.caps.slice(0, txt.caps.lastIndexOf(','));
  if (txtBytes(txt) > MAX_TXT_BYTES) txt.caps = '';
  return txt;
}

function txtBytes(txt: Record<string, string>): number {
  return Object.entries(txt).reduce((n, [k, v]) => n + 1 + Buffer.byteLength(`${k}=${v}`), 0);
}
