import type { ServerResponse } from 'node:http';
import type { EventJournal, JournalEntry } from '../directory/event-journal.js';
import type { EventView } from './event-filter.js';

/** A client this far behind is dropped; it reconnects with Last-Event-ID and loses nothing. */
const MAX_BUFFERED_BYTES = 1 << 20;

export const EVENT_STREAM = 'text/event-stream; charset=utf-8';

/** One /v1/events client: replay from Last-Event-ID (or a reset), then live events, with keep-alives. */
export class EventStream {
  private readonly unsubscribe: () => void;
  private readonly keepAlive: NodeJS.Timeout;
  private closed = false;
  private readonly closeListeners: (() => void)[] = [];

  constructor(
    private readonly res: ServerResponse,
    journal: EventJournal,
    lastEventId: string | undefined,
    keepAliveMs: number,
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
        res.write(
          `id: ${journal.lastId}\nevent: reset\ndata: ${JSON.stringify({ reason: 'the events after your Last-Event-ID are no longer kept; fetch /v1/devices again' })}\n\n`,
        );
      } else for (const e of replay.entries) this.send(e);
    }
    this.unsubscribe = journal.subscribe((e) => this.send(e));
    this.keepAlive = setInterval(() => this.write(': keep-alive\n\n'), keepAliveMs);
    this.keepAlive.unref();
    res.on('close', () => this.close());
  }

  onClose(fn: () => void): void {
    this.closeListeners.push(fn);
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
    this.write(`id: ${entry.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  }

  private write(chunk: string): void {
    if (this.closed) return;
    this.res.write(chunk);
    if (this.res.writableLength > MAX_BUFFERED_BYTES) {
      this.res.destroy();
      this.close();
    }
  }
}
