import type { Socket } from 'node:dgram';
import type { PeerHttpServer } from '../../src/http/peer-server.js';
import { expandEndpoint } from '../../src/profiles/validate.js';
import type { Device } from '../../src/profiles/model.js';
import { benchDevice } from '../system.js';

/** The parts of the site emulator (site-emulator.ts): what it is given, counts, and each emulated agent. */

/** A keyed site: a signed datagram verifies its sender at once, as it would a real member (docs/security.md). */
export interface EmulatorInit {
  site: string;
  group: string;
  port: number;
  /** Emulated agents: the site is these and the measured agent. */
  peers: number;
  devicesPerPeer: number;
  /** The real agent's name: its place on the ring decides which emulated agents it monitors. */
  measured: string;
  /** The cluster key, hex, as in the measured agent's key file. */
  key: string;
  seed: number;
}

/** What crossed the emulator's sockets; the measured agent's traffic is what the bench reads. */
export interface EmulatorCounts {
  multicastSent: number;
  multicastBytesSent: number;
  /** Unicast heartbeats to the measured agent, from the emulated agents it monitors, and their bytes. */
  unicastSent: number;
  unicastBytesSent: number;
  /** The measured agent's unicast heartbeats to its monitors, and its multicasts, by type. */
  unicastFromMeasured: number;
  multicastFromMeasured: Record<string, number>;
  /** The measured agent's datagram payload bytes, as the emulator heard them: its multicasts and its unicast. */
  multicastBytesFromMeasured: number;
  unicastBytesFromMeasured: number;
  /** Peer requests served by route, summaries (a hello with peers=1) apart. */
  hellos: number;
  summaries: number;
  changes: number;
  /** Requests or connections the emulated endpoints refused, by PeerHttpServer's reason. */
  refused: Record<string, number>;
}

export function newCounts(): EmulatorCounts {
  const counts = { multicastSent: 0, multicastBytesSent: 0, unicastSent: 0, unicastBytesSent: 0 };
  const measured = { unicastFromMeasured: 0, multicastBytesFromMeasured: 0, unicastBytesFromMeasured: 0 };
  return { ...counts, ...measured, multicastFromMeasured: {}, hellos: 0, summaries: 0, changes: 0, refused: {} };
}

export interface EmulatedAgent {
  name: string;
  incarnation: number;
  address: string;
  peerPort: number;
  udp: Socket;
  server: PeerHttpServer;
  phased: boolean;
  /** When the current wait began, and its random factor of the mean interval (Announcer's cycle). */
  cycle: { start: number; factor: number };
  solicited: boolean;
  timer?: NodeJS.Timeout;
  multicastAt: number;
}

/** Emulated agent `i`'s own loopback address: all of 127/8 is local on lo; 127.0.0.1 is the measured agent's. */
export function emulatedAddress(i: number): string {
  return `127.0.${10 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}

/** The bench's device `k`, its endpoint made concrete as the agent's LocalDeviceSet does with its address. */
export function emulatedDevice(name: string, k: number, address: string): Device {
  const device = benchDevice(name, k);
  return {
    ...device,
    capabilities: device.capabilities.map((c) =>
      c.endpoint ? { ...c, endpoint: expandEndpoint(c.endpoint, address, address) } : c,
    ),
  };
}
