import type { DeviceRecord, DirectoryEvent } from './records.js';

/**
 * Profiles of this agent that were not applied (at start: the invalid files, the valid ones are served;
 * at a reload: the whole new set, the last good one stays). Not a directory change, but what an operator
 * watching /v1/events needs to see, in the same order as the changes.
 */
export interface ProfilesRefusedEvent {
  type: 'profiles-refused';
  agent: string;
  when: 'start' | 'reload';
  errors: { file: string; line?: number; field?: string; message: string }[];
  /** How many of this agent's devices are served after it. */
  serving: number;
}

export type JournalEvent = DirectoryEvent | ProfilesRefusedEvent;

export interface JournalEntry {
  /** `<epoch>-<seq>`: the epoch changes on every start, so an id from a previous run is never mistaken. */
  id: string;
  seq: number;
  event: JournalEvent;
  /**
   * For a device update or removal, the record as it was before: a filtered stream needs it to tell a
   * device that stops matching its filter (a removal, for that client) from one it never matched.
   */
  previous?: DeviceRecord;
}

export type Replay = { kind: 'events'; entries: JournalEntry[] } | { kind: 'reset' };

/**
 * The recent directory events, numbered, so that a client of /v1/events that reconnects with
 * Last-Event-ID gets exactly what it missed, or a reset when that is no longer kept.
 */
export class EventJournal {
  private entries: JournalEntry[] = [];
  private seq = 0;
  private readonly listeners = new Set<(e: JournalEntry) => void>();
  /**
   * The record of every device of the alive agents, by agent then id: references to the directory's
   * own records. An agent that is lost or leaves is dropped (the directory announces nothing of it
   * until it is back, and clients drop its devices on that event), so this never outgrows the alive
   * part of the directory, whatever churn of names the site sees.
   */
  private readonly current = new Map<string, Map<string, DeviceRecord>>();

  constructor(
    private readonly epoch: string,
    private readonly capacity = 1024,
  ) {}

  record(event: JournalEvent): JournalEntry {
    this.seq += 1;
    const entry: JournalEntry = { id: `${this.epoch}-${this.seq}`, seq: this.seq, event };
    const previous = this.track(event);
    if (previous) entry.previous = previous;
    this.entries.push(entry);
    // Trimmed a quarter of the capacity at a time (since() looks at the last `capacity` only): trimming one
    // entry per event copied the whole journal on every directory event, 4 % of a 500-agent cold start.
    if (this.entries.length > this.capacity + (this.capacity >> 2))
      this.entries.splice(0, this.entries.length - this.capacity);
    for (const l of this.listeners) l(entry);
    return entry;
  }

  subscribe(listener: (e: JournalEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private track(event: JournalEvent): DeviceRecord | undefined {
    switch (event.type) {
      case 'device-added':
      case 'device-updated': {
        let devices = this.current.get(event.agent);
        if (!devices) this.current.set(event.agent, (devices = new Map<string, DeviceRecord>()));
        const before = devices.get(event.device.id);
        devices.set(event.device.id, event.device);
        return before;
      }
      case 'device-removed': {
        const devices = this.current.get(event.agent);
        const before = devices?.get(event.id);
        devices?.delete(event.id);
        if (devices?.size === 0) this.current.delete(event.agent);
        return before;
      }
      case 'agent-lost':
      case 'agent-left':
        this.current.delete(event.agent);
        return undefined;
      default:
        return undefined;
    }
  }

  /** What came after `lastEventId`. */
  since(lastEventId: string): Replay {
    const match = /^(.+)-(\d+)$/.exec(lastEventId);
    if (!match || match[1] !== this.epoch) return { kind: 'reset' };
    const seq = Number(match[2]);
    if (seq > this.seq) return { kind: 'reset' };
    const kept = this.entries.length > this.capacity ? this.entries.slice(-this.capacity) : this.entries;
    const first = kept[0]?.seq ?? this.seq + 1;
    if (seq < first - 1) return { kind: 'reset' };
    return { kind: 'events', entries: kept.filter((e) => e.seq > seq) };
  }

  get lastId(): string {
    return `${this.epoch}-${this.seq}`;
  }
}
