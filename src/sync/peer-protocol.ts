import type { Changes } from '../directory/directory.js';
import { compare } from '../directory/origin.js';
import type { SnapshotEntry } from '../directory/records.js';
import { SETS_PER_PAGE, type SetsPage, type WholeSet } from '../directory/sets-page.js';
import { checkDelta, DecodeError } from '../protocol/codec.js';
import { DEVICE_ID_PATTERN, PROFILE_LIMITS } from '../profiles/model.js';
import { isObject, validateDevice } from '../profiles/validate.js';
import type { Hello, Holder } from '../transport/transport.js';

/**
 * The peer endpoint's JSON, checked field by field: a peer's answer is untrusted input like a datagram.
 *   GET /v1/peer/changes?origin=NAME&since=V&incarnation=I[&after=ID][&port=P]
 *     -> Changes (deltas or a snapshot page; `next` names the id to continue `after`), 404 if not held, 503 if
 *        shed (another origin's set, past the few a second a member serves of them, others-sets.ts), its problem
 *        naming up to 3 `holders` (address, port, version) it served that set to (`port`: the asker's peer port)
 *   GET /v1/peer/hello[?from=NAME&incarnation=I&port=P[&check=NAME|&gone=NAME][&datagram=1][&digest=1][&lost=I]]
 *     -> Hello
 *   GET /v1/peer/changes?sets=1[&after=NAME]   -> SetsPage: every alive origin's whole set after NAME (bulk-sets.ts)
 *     (`check`/`gone`: an indirect probe asked of this agent, or its verdict; indirect-checks.ts; `datagram`:
 *     the answer names its datagram endpoint's port, endpoint-proofs.ts; `lost`: the asker holds that life of this
 *     agent lost, which it refutes with a heartbeat, lost-rechecks.ts)
 */
export const PEER_PATHS = { changes: '/v1/peer/changes', hello: '/v1/peer/hello' } as const;

/** A catch-up of another origin's set shed by a busy member (peer-service.ts): no set, ask elsewhere. */
export const SHED_STATUS = 503;

/** Holders a shed answer names. */
export const HOLDERS_NAMED = 3;

/** The holders a shed answer names (SHED_STATUS), each checked; anything malformed is left out. */
export function checkHolders(value: unknown): Holder[] {
  const listed = isObject(value) && Array.isArray(value.holders) ? value.holders.slice(0, HOLDERS_NAMED) : [];
  return listed.flatMap((h) =>
    isObject(h) &&
    typeof h.address === 'string' &&
    /^[0-9a-fA-F.:]{2,45}$/.test(h.address) &&
    Number.isInteger(h.port) &&
    (h.port as number) >= 1 &&
    (h.port as number) <= 65535 &&
    Number.isSafeInteger(h.version) &&
    (h.version as number) >= 1
      ? [{ address: h.address, port: h.port as number, version: h.version as number }]
      : [],
  );
}

/** A catch-up answer larger than this is refused: a snapshot of 512 large devices is well under it. */
export const MAX_PEER_RESPONSE_BYTES = 4 * 1024 * 1024;

export function checkChanges(value: unknown, expectedOrigin: string): Changes {
  if (!isObject(value)) throw new DecodeError('response', 'answer is not an object');
  const { kind, origin, incarnation, version } = value;
  if (origin !== expectedOrigin)
    throw new DecodeError('response', `answer is about '${String(origin)}', not '${expectedOrigin}'`);
  if (!Number.isSafeInteger(incarnation) || (incarnation as number) < 1)
    throw new DecodeError('response', 'incarnation is not a positive integer');
  if (!Number.isSafeInteger(version) || (version as number) < 1)
    throw new DecodeError('response', 'version is not a positive integer');
  const base = { origin: expectedOrigin, incarnation: incarnation as number, version: version as number };
  if (kind === 'deltas') {
    if (!Array.isArray(value.deltas)) throw new DecodeError('response', 'deltas is not a list');
    if (value.deltas.length > 1024) throw new DecodeError('response', 'more deltas than any change log keeps');
    const deltas = value.deltas.map((d) => checkDelta(d));
    deltas.forEach((d, i) => {
      if (i > 0 && d.version !== deltas[i - 1].version + 1)
        throw new DecodeError('response', 'deltas are not consecutive');
    });
    if (deltas.length > 0 && deltas[deltas.length - 1].version !== version)
      throw new DecodeError('response', 'last delta does not reach the stated version');
    return { kind, ...base, deltas };
  }
  if (kind === 'snapshot') {
    if (!Array.isArray(value.entries)) throw new DecodeError('response', 'entries is not a list');
    if (value.entries.length > PROFILE_LIMITS.devicesPerAgent)
      throw new DecodeError('too-many-devices', `snapshot of more than ${PROFILE_LIMITS.devicesPerAgent} devices`);
    const seen = new Set<string>();
    const entries: SnapshotEntry[] = value.entries.map((e, i) => {
      if (
        !isObject(e) ||
        !Number.isSafeInteger(e.version) ||
        (e.version as number) < 1 ||
        (e.version as number) > (version as number)
      ) {
        throw new DecodeError('response', `entries[${i}] has no valid version`);
      }
      const result = validateDevice(e.device);
      if (!result.ok)
        throw new DecodeError('device', `entries[${i}] is not a valid device: ${result.errors[0].message}`);
      if (seen.has(result.device.id))
        throw new DecodeError('response', `entries[${i}] repeats device '${result.device.id}'`);
      seen.add(result.device.id);
      return { version: e.version as number, device: result.device };
    });
    const { next } = value;
    if (next === undefined) return { kind, ...base, entries };
    if (typeof next !== 'string' || !DEVICE_ID_PATTERN.test(next) || entries.length === 0)
      throw new DecodeError('response', 'next is not a device id');
    return { kind, ...base, entries, next };
  }
  throw new DecodeError('response', `unknown answer kind '${String(kind)}'`);
}

/**
 * A page of a bulk catch-up: whole sets (snapshots of one page), each checked as a catch-up answer, in name order
 * after `after`, at most SETS_PER_PAGE; `next` names the last. An older peer answers its own snapshot: refused here.
 */
export function checkSets(value: unknown, after: string | undefined): SetsPage {
  if (!isObject(value) || value.kind !== 'sets' || !Array.isArray(value.sets) || value.sets.length > SETS_PER_PAGE)
    throw new DecodeError('response', 'answer is not a bounded page of sets');
  let last = after;
  const sets = value.sets.map((x: unknown, i): WholeSet => {
    const origin = isObject(x) ? x.origin : undefined;
    if (
      typeof origin !== 'string' ||
      !DEVICE_ID_PATTERN.test(origin) ||
      (last !== undefined && compare(origin, last) <= 0)
    )
      throw new DecodeError('response', `sets[${i}] is not an origin in name order`);
    const set = checkChanges(x, origin);
    if (set.kind !== 'snapshot' || set.next !== undefined)
      throw new DecodeError('response', `sets[${i}] is not a whole set`);
    last = origin;
    return set;
  });
  if (value.next === undefined) return { kind: 'sets', sets };
  if (sets.length === 0 || value.next !== last) throw new DecodeError('response', 'next is not the last origin');
  return { kind: 'sets', sets, next: last };
}

/** What a hello answers only when asked: its datagram port (endpoint-proofs.ts), its view's digest (rejoin.ts). */
function checkHelloExtras(value: Record<string, unknown>, hello: Hello): void {
  if (value.datagramPort !== undefined) {
    const port = value.datagramPort;
    if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535)
      throw new DecodeError('response', 'hello datagramPort is not a port');
    hello.datagramPort = port as number;
  }
  if (value.digest !== undefined) {
    const digest = value.digest;
    if (!Number.isInteger(digest) || (digest as number) < 0 || (digest as number) > 0xffffffff)
      throw new DecodeError('response', 'hello digest is not 32 bits');
    hello.digest = digest as number;
  }
  if (value.setDigest !== undefined) {
    if (typeof value.setDigest !== 'string' || !/^[0-9a-f]{16}$/.test(value.setDigest))
      throw new DecodeError('response', 'hello setDigest is not 16 hex digits');
    hello.setDigest = value.setDigest;
  }
}

export function checkHello(value: unknown): Hello {
  if (!isObject(value)) throw new DecodeError('response', 'hello is not an object');
  const { name, site, incarnation, version, format } = value;
  if (typeof name !== 'string' || !DEVICE_ID_PATTERN.test(name))
    throw new DecodeError('response', 'hello has no valid name');
  if (
    typeof site !== 'string' ||
    !Number.isSafeInteger(incarnation) ||
    !Number.isSafeInteger(version) ||
    !Number.isSafeInteger(format)
  ) {
    throw new DecodeError('response', 'hello is missing fields');
  }
  const hello: Hello = {
    name,
    site,
    incarnation: incarnation as number,
    version: version as number,
    format: format as number,
  };
  checkHelloExtras(value, hello);
  if (value.peers !== undefined) {
    if (!Array.isArray(value.peers) || value.peers.length > PROFILE_LIMITS.devicesPerAgent)
      throw new DecodeError('response', 'hello peers is not a bounded list');
    hello.peers = value.peers.map((p, i) => {
      if (
        !isObject(p) ||
        typeof p.name !== 'string' ||
        !DEVICE_ID_PATTERN.test(p.name) ||
        !Number.isSafeInteger(p.incarnation) ||
        !Number.isSafeInteger(p.version) ||
        typeof p.address !== 'string' ||
        !/^\d{1,3}(\.\d{1,3}){3}$/.test(p.address) ||
        !Number.isInteger(p.port) ||
        (p.port as number) < 1 ||
        (p.port as number) > 65535
      ) {
        throw new DecodeError('response', `hello peers[${i}] is not valid`);
      }
      return {
        name: p.name,
        incarnation: p.incarnation as number,
        version: p.version as number,
        address: p.address,
        port: p.port as number,
      };
    });
  }
  return hello;
}
