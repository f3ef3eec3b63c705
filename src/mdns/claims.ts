import {
  hostRecord,
  instanceName,
  renamedHost,
  renamedInstance,
  sharedServiceRecords,
  uniqueServiceRecords,
  type RecordLike,
  type ServiceSpec,
} from './records.js';

/**
 * A unique name Herald publishes and must probe for (RFC 6762 §8): its own host label (an A record) or
 * a service instance (SRV and TXT, plus the shared PTRs that point at it).
 */
export interface Claim {
  /** Stable identity across renames: `host`, `agent`, `device:<id>`. */
  key: string;
  kind: 'host' | 'service';
  /** The name before any rename: a host label, or an instance label. */
  base: string;
  /** 1 for the base name; 2 and up after conflicts (`name (2)`). */
  attempt: number;
  state: 'probing' | 'announced';
  probes: number;
  /** Probing waits until this (monotonic ms): after a lost tie-break (§8.2) or many conflicts (§9). */
  deferUntil: number;
  spec?: ServiceSpec;
}

export function newClaim(key: string, kind: Claim['kind'], base: string, spec?: ServiceSpec): Claim {
  return { key, kind, base, attempt: 1, state: 'probing', probes: 0, deferUntil: 0, spec };
}

/** The claim's current fully qualified name. */
export function claimName(c: Claim): string {
  return c.kind === 'host'
    ? `${renamedHost(c.base, c.attempt)}.local`
    : instanceName(renamedInstance(c.base, c.attempt), specOf(c).type);
}

/** The claim's current label (what `/v1/agents` shows and logs name). */
export function claimLabel(c: Claim): string {
  return c.kind === 'host' ? renamedHost(c.base, c.attempt) : renamedInstance(c.base, c.attempt);
}

/** The unique records probed for and defended under the claim's name. */
export function uniqueRecords(c: Claim, host: Claim, address: string): RecordLike[] {
  if (c.kind === 'host') return [hostRecord(claimLabel(c), address)];
  return uniqueServiceRecords(specOf(c), claimName(c), claimLabel(host));
}

/** Everything announced for the claim: its unique records and, for a service, the PTRs to it. */
export function allRecords(c: Claim, host: Claim, address: string): RecordLike[] {
  const unique = uniqueRecords(c, host, address);
  return c.kind === 'host' ? unique : [...sharedServiceRecords(specOf(c), claimName(c)), ...unique];
}

export function specOf(c: Claim): ServiceSpec {
  if (!c.spec) throw new TypeError(`claim ${c.key} is not a service`);
  return c.spec;
}
