import type { ServerResponse } from 'node:http';
import type { EventJournal, JournalEntry, JournalEvent } from '../directory/event-journal.js';
import type { EventView } from './event-filter.js';
import type { BufferedStream, StreamBudget } from './stream-budget.js';

const RESET_REASON = 'the events after your Last-Event-ID are no longer kept; fetch /v1/devices again';

export const EVENT_STREAM = 'text/event-stream; charset=utf-8';

/** One /v1/events client: replay from Last-Event-ID (or a reset), then live events, with keep-alives. */
export class EventStream implements BufferedStream {
  private readonly unsubscribe: () => void;
  private readonly keepAlive: NodeJS.Timeout;
  private closed = false;
  private readonly closeListeners: (() => void)[] = [];

  constructor(
    private readonly res: ServerResponse,
    journal: EventJournal,
    lastEventId: string | undefined,
    keepAliveMs: number,
    /** What this stream and the others of its API may hold unsent (stream-budget.ts). */
    private readonly budget: StreamBudget,
    private readonly frames: SharedFrames,
    /** A filtered client's view of each event (see event-filter.ts); all events as they are without. */
    private readonly view?: EventView,
  ) {
    res.writeHead(200, {
      'content-type': EVENT_STREAM,
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    if (lastEventId !== undefined && lastEventId !== journal.lastId) {
      const replay = journal.since(lastEventId);
      if (replay.kind === 'reset') {
        res.write(`id: ${journal.lastId}\nevent: reset\ndata: ${JSON.stringify({ reason: RESET_REASON })}\n\n`);
      } else for (const e of replay.entries) this.send(e);
    }
    this.unsubscribe = journal.subscribe((e) => this.send(e));
    this.keepAlive = setInterval(() => this.write(': keep-alive\n\n'), keepAliveMs);
    this.keepAlive.unref();
    res.on('close', () => this.close());
  }

  /** At once when already closed: a replay past the budget drops the stream before anyone listens. */
  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.closeListeners.push(fn);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    clearInterval(this.keepAlive);
    this.res.end();
    for (const fn of this.closeListeners) fn();
  }

  private send(entry: JournalEntry): void {
    const event = this.view ? this.view(entry) : entry.event;
    // A filtered-out event sends nothing: the next one sent carries its own id, which resumes past both.
    if (!event) return;
    this.write(event === entry.event ? this.frames.of(entry) : frame(entry.id, event));
  }

  get buffered(): number {
    return this.res.writableLength;
  }

  /** Drops a client too far behind: it reconnects with Last-Event-ID and loses nothing. */
  drop(): void {
    this.res.destroy();
    this.close();
  }

  private write(chunk: string): void {
    if (this.closed) return;
    this.res.write(chunk);
    this.budget.check(this);
  }
}

function frame(id: string, event: JournalEvent): string {
  return `id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/**
 * The text of the latest event, made once for every stream that sends it as it is: the streams of one
 * API are told of an event one after another, and a stream whose client does not read holds the text
 * until it is dropped, so 100 such streams held 100 copies of each event (attack16); now one.
 */
export class SharedFrames {
  private entry: JournalEntry | undefined;
  private text = '';

  of(entry: JournalEntry): string {
    if (entry !== this.entry) {
      this.entry = entry;
      this.text = frame(entry.id, entry.event);
    }
    return this.text;
  }
}
