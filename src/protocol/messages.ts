import type { Delta } from '../directory/delta.js';

/** Datagram kinds. `as const` objects rather than enums: plain values on the wire and in logs. */
export const MessageType = {
  announce: 1, // a change: identity, new version, and the delta when it fits
  heartbeat: 2, // periodic: identity and version, so a lost last announcement is noticed
  goodbye: 3, // clean shutdown: peers mark the agent left at once
  solicit: 4, // a newcomer asks peers to heartbeat now rather than within a period
  notice: 5, // the agents its hints name were found gone by the sender's own probe (a lost notice)
  beat: 6, // keyed sites: a unicast heartbeat to a monitor, the sender named by a hint of itself (beat.ts)
  challenge: 7, // open sites: a nonce to an announcer's datagram endpoint, asking its life and set (challenge.ts)
  echo: 8, // the challenged agent's answer: the nonce, its life, version and set digest (challenge.ts)
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];
/** Each type's name, as logs and metric labels spell it: the keys of MessageType, not restated. */
export const MESSAGE_TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(MessageType).map(([name, type]) => [type, name]),
);

/**
 * A hint that some origin reached some version, piggy-backed on heartbeats and announcements: a
 * receiver that missed that origin's announcement learns it from any peer, not only from the origin.
 * 8 bytes or so instead of the name: the receiver knows the names of the origins it holds.
 */
export interface Hint {
  nameHash: number; // FNV-1a 32 of the origin name
  incarnationTag: number; // low 16 bits of its incarnation: a restart is not mistaken for progress
  version: number;
}

export interface Header {
  type: MessageType;
  site: string;
  name: string;
  incarnation: number;
  version: number;
  /** TCP port of the sender's peer endpoint; its address is the datagram's source. */
  peerPort: number;
  /**
   * The sender's mean multicast heartbeat interval, when the site's size stretched it past the
   * configured period: peers judge its silence by it. Absent on a small site (the period applies).
   */
  intervalMs?: number;
  /**
   * The digest of the sender's view (sync/view-digest.ts), on a stretched site's multicast heartbeats: an agent
   * whose view stays unlike the site's learns it is out of step (sync/view-votes.ts).
   */
  view?: number;
}

export interface Message extends Header {
  hints: Hint[];
  /** Present on announcements whose delta fit in one datagram. */
  delta?: Delta;
}

export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function incarnationTag(incarnation: number): number {
  return incarnation % 0x10000;
}
