/** What the simulated LAN (memory-network.ts) does to datagrams and requests, and what it reports. */

/** How the link into one receiver treats datagrams; overrides the network's defaults for that receiver. */
export interface LinkFaults {
  loss?: number;
  duplicate?: number;
  reorderWindowMs?: number;
}

/**
 * What happens to one peer request: `fail` rejects at once (a reset), `hang` never answers so the
 * caller's deadline fires, `late` answers correctly but only after `delayMs` (after newer datagrams),
 * `unread` sits unread until `readAt(arrival)` (the target's stalled loop), then is acted on and answered.
 */
export type RpcFault =
  | { kind: 'fail' }
  | { kind: 'hang' }
  | { kind: 'late'; delayMs: number }
  | { kind: 'unread'; readAt: (arrivedMs: number) => number };

/** What the network did, for a readable trace of a simulation. */
export type NetworkEvent =
  | {
      type: 'datagram';
      from: string;
      to: string;
      bytes: number;
      fate: 'delivered' | 'lost' | 'duplicated' | 'cut';
      /** Only on unicast datagrams; a multicast one has none. */
      kind?: 'unicast';
    }
  | { type: 'rpc'; from: string; to: string; route: string; query: string; outcome: string };
