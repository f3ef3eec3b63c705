/** One event stream as the budget sees it: what it holds unsent, and how to let it go. */
export interface BufferedStream {
  /** Bytes written to the stream that its socket has not taken yet. */
  readonly buffered: number;
  drop(): void;
}

export type StreamDropReason = 'event-stream-behind' | 'event-streams-total';

/** What one stream may hold unsent: a client this far behind reconnects with Last-Event-ID. */
export const STREAM_BYTES = 1 << 20;
/** What all streams of one API may hold unsent together: 32 KiB each for the most streams the API accepts. */
export const STREAMS_TOTAL_BYTES = 8 << 20;
/** Below this a stream is keeping up, and its write is not a reason to add up the others. */
const KEEPING_UP_BYTES = 32 << 10;

/**
 * The memory the event streams of one API may hold for clients that do not read. Each stream alone
 * was bounded (1 MiB) but not all of them: 100 watchers that never read, on a site whose devices
 * changed 120 times, took the agent from 67 to 221 MB resident (attack16). Now, past the total, the
 * streams holding most are dropped until the rest fit: a client that reads keeps its stream, and a
 * dropped one loses nothing (it resumes from its Last-Event-ID, or gets a reset).
 */
export class StreamBudget {
  constructor(
    private readonly streams: () => Iterable<BufferedStream>,
    private readonly onDrop: (reason: StreamDropReason) => void = () => undefined,
    private readonly totalBytes = STREAMS_TOTAL_BYTES,
    private readonly streamBytes = STREAM_BYTES,
  ) {}

  /** After a write to `stream`: drops it when it is too far behind, or the largest while all hold too much. */
  check(stream: BufferedStream): void {
    const own = stream.buffered;
    if (own > this.streamBytes) return this.drop(stream, 'event-stream-behind');
    // With every stream under KEEPING_UP_BYTES the total is within the bound: no need to add it up.
    if (own < KEEPING_UP_BYTES) return;
    const all = [...this.streams()];
    let total = all.reduce((sum, s) => sum + s.buffered, 0);
    if (total <= this.totalBytes) return;
    for (const s of all.sort((a, b) => b.buffered - a.buffered)) {
      if (total <= this.totalBytes) break;
      total -= s.buffered;
      this.drop(s, 'event-streams-total');
    }
  }

  private drop(stream: BufferedStream, reason: StreamDropReason): void {
    stream.drop();
    this.onDrop(reason);
  }
}
