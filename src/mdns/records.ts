import dnsPacket from 'dns-packet';
import type { Answer } from './mdns-socket.js';

/** RFC 6762 §10: records tied to a host name (SRV, A) live 120 s, the others (PTR, TXT) 4,500 s. */
export const HOST_TTL = 120;
export const OTHER_TTL = 4500;
/** dns-packet's record and name codecs (exported at run time, missing from its type declarations). */
const codec = dnsPacket as unknown as {
  answer: { encode(record: unknown): Buffer };
  name: { encodingLength(name: string): number };
};

export const SERVICES_META = '_services._dns-sd._udp.local';

export type RecordLike = Answer & { name: string; type: string; ttl?: number; data?: unknown; flush?: boolean };

export interface ServiceSpec {
  /** The instance label, e.g. `a1@site` or `Lamp (a1)`. */
  instance: string;
  /** `_herald._tcp` or `_http._tcp`. */
  type: string;
  port: number;
  txt: Record<string, string>;
}

/** `Lamp (a1)` + `_http._tcp` → `Lamp (a1)._http._tcp.local`. dns-packet cannot escape a dot in a label. */
export function instanceName(instance: string, type: string): string {
  return `${instance.replace(/\./g, '-')}.${type}.local`;
}

/** The per-agent host label Herald owns (never the host's own name): `a1-herald` → `a1-herald.local`. */
export function hostLabel(agent: string): string {
  return `${agent.replace(/[^a-z0-9-]/gi, '-')}-herald`.slice(0, 63);
}

/** A name taken by another responder gets a number (RFC 6763 §9 style): `x` → `x (2)` → `x (3)`. */
export function renamedInstance(base: string, attempt: number): string {
  return attempt < 2 ? base : `${base} (${attempt})`;
}

/** Host labels take the number with a dash, as avahi does: `a1-herald` → `a1-herald-2`. */
export function renamedHost(base: string, attempt: number): string {
  return attempt < 2 ? base : `${base}-${attempt}`;
}

export function txtData(txt: Record<string, string>): Buffer[] {
  return Object.entries(txt).map(([k, v]) => Buffer.from(`${k}=${v}`));
}

export function hostRecord(host: string, address: string): RecordLike {
  return { name: `${host}.local`, type: 'A', class: 'IN', ttl: HOST_TTL, flush: true, data: address };
}

/** The unique records of a service instance: SRV (to Herald's own host label) and TXT. */
export function uniqueServiceRecords(spec: ServiceSpec, fqdn: string, host: string): RecordLike[] {
  return [
    {
      name: fqdn,
      type: 'SRV',
      class: 'IN',
      ttl: HOST_TTL,
      flush: true,
      data: { priority: 0, weight: 0, port: spec.port, target: `${host}.local` },
    },
    { name: fqdn, type: 'TXT', class: 'IN', ttl: OTHER_TTL, flush: true, data: txtData(spec.txt) },
  ];
}

/** The shared records of a service instance: the browse PTR and the service-type enumeration PTR. */
export function sharedServiceRecords(spec: ServiceSpec, fqdn: string): RecordLike[] {
  const type = `${spec.type}.local`;
  return [
    { name: type, type: 'PTR', class: 'IN', ttl: OTHER_TTL, data: fqdn },
    { name: SERVICES_META, type: 'PTR', class: 'IN', ttl: OTHER_TTL, data: type },
  ];
}

/** The record's rdata, uncompressed, as RFC 6762 §8.2 compares it. */
export function rdata(r: RecordLike): Buffer {
  const bytes = codec.answer.encode({ ...r, ttl: 0, flush: false });
  return bytes.subarray(codec.name.encodingLength(r.name) + 10);
}

export function sameName(a: string, b: string): boolean {
  return a.length === b.length && a.toLowerCase() === b.toLowerCase();
}

/** Same name, type and data (TTL and the cache-flush bit aside). */
export function sameRecord(a: RecordLike, b: RecordLike): boolean {
  return a.type === b.type && sameName(a.name, b.name) && rdata(a).equals(rdata(b));
}

/**
 * RFC 6762 §8.2 simultaneous probe tie-break: both sets sorted, compared record by record on class,
 * type and rdata; > 0 when ours is lexicographically later (we win), < 0 when we lose, 0 when identical.
 */
export function compareProbeSets(ours: RecordLike[], theirs: RecordLike[]): number {
  const key = (r: RecordLike) => {
    const bytes = codec.answer.encode({ ...r, ttl: 0, flush: false });
    const at = codec.name.encodingLength(r.name);
    // class, then type, then rdata (the class has no cache-flush bit here: it was encoded without it)
    return Buffer.concat([bytes.subarray(at + 2, at + 4), bytes.subarray(at, at + 2), bytes.subarray(at + 10)]);
  };
  const a = ours.map(key).sort((x, y) => Buffer.compare(x, y));
  const b = theirs.map(key).sort((x, y) => Buffer.compare(x, y));
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = Buffer.compare(a[i], b[i]);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}
