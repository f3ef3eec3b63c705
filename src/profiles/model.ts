/**
 * The device profile format: what a host declares about the devices it offers.
 * device-profiles/schema.json is the same format as a JSON Schema for editors;
 * test/profile-schema.test.ts checks that both accept and refuse the same documents.
 */
import type { CheckSpec, Health } from './checks.js';

export const CAPABILITY_KINDS = ['property', 'action', 'event', 'stream', 'service'] as const;
export type CapabilityKind = (typeof CAPABILITY_KINDS)[number];

export interface Capability {
  id: string;
  kind: CapabilityKind;
  type?: string;
  unit?: string;
  readOnly?: boolean;
  description?: string;
  /** URL; in a profile it may hold {address} and {host}, which the agent expands before advertising. */
  endpoint?: string;
}

export interface Device {
  id: string;
  name: string;
  model?: string;
  manufacturer?: string;
  location?: string;
  tags: string[];
  /** Cluster-wide names this device binds, like `greenhouse/climate`. */
  names: string[];
  capabilities: Capability[];
  /** Declared checks; run by the owning agent only, never advertised. */
  checks?: CheckSpec[];
  /** The checks' outcome, set by the owning agent and replicated with the device. */
  health?: Health;
}

/** Bounds keep one host's profiles from bloating every directory on the site (and every datagram). */
export const PROFILE_LIMITS = {
  idLength: 63, // [a-z0-9][a-z0-9._-]{0,62}: fits a DNS label, so a device id can name a DNS-SD instance
  textLength: 128, // name, model, manufacturer, location
  descriptionLength: 512,
  endpointLength: 512,
  unitLength: 32,
  typeLength: 64,
  tags: 32,
  tagLength: 64,
  names: 16,
  nameLength: 128,
  capabilities: 64,
  fileBytes: 256 * 1024, // a profile is a few kilobytes; anything larger is a mistake
  devicesPerAgent: 1024, // bounds what one host (or a forged peer) can put in every directory
} as const;

export const DEVICE_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const TYPE_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
/** Global names: slash-separated segments, each like an id. */
export const GLOBAL_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/;

/** Compare two devices by content, independent of key order. */
export function sameDevice(a: Device, b: Device): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}
