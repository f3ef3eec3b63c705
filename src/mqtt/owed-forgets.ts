import type { Logger } from '../util/logger.js';
import { readStateFile, replaceStateFile } from '../util/state-file.js';

/** An agent name as the options accept it: the file is ours, but a hand-edited or damaged one must not reach MQTT. */
const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/**
 * The largest file read back: the agent writes at most its limit of names (256 of 63 characters: ~17 kB). A larger
 * one is damage, reported and not read: a 20.9 MB list was read whole to keep its last 256 names, +202 MiB and 19 s
 * of the bridge's start (attacks/owed-forgets-damaged).
 */
const FILE_BYTES = 64 * 1024;

/**
 * The forgets owed to the broker (Retirement.owe), kept in the state folder. In memory only, a publisher restarted
 * while its broker was away lost them, and the forgotten agent's retained state stayed on the broker for good: no
 * peer holds it any more, so nothing would ever retire it (attacks/mqtt-forget-restart). Without a state folder the
 * forgets live in memory, as before.
 */
export class OwedForgetsFile {
  /** Writes one after another, the latest list last: a rename never lands an older list over a newer one. */
  private writing: Promise<void> = Promise.resolve();
  /** The list to write next, once the write under way is done (`save`). */
  private waiting: string | undefined;

  constructor(
    private readonly file: string,
    private readonly log: Logger,
    private readonly limit: number,
  ) {}

  /** The names owed at the last save; none when there is no file. A damaged file is reported and read as empty. */
  async load(): Promise<string[]> {
    let text: string;
    try {
      text = await readStateFile(this.file, FILE_BYTES); // a FIFO there held the bridge's start (attack22)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.log.warn({ file: this.file, err: (err as Error).message }, 'owed MQTT forgets not read');
      return [];
    }
    try {
      const stored = JSON.parse(text) as { forgets?: unknown };
      if (!Array.isArray(stored.forgets)) throw new Error("no 'forgets' list");
      const names = stored.forgets.filter((n): n is string => typeof n === 'string' && NAME.test(n));
      if (names.length !== stored.forgets.length)
        this.log.warn({ file: this.file, skipped: stored.forgets.length - names.length }, 'owed forget not a name');
      return names.slice(-this.limit);
    } catch (err) {
      this.log.warn({ file: this.file, err: (err as Error).message }, 'owed MQTT forgets file damaged; ignored');
      return [];
    }
  }

  /**
   * Saves the list, replaced whole and fsynced: a crash or a power cut leaves the old list or the new (s23). One
   * write at a time and at most one list waiting, the latest: a burst of forgets queued a write (and its copy of
   * the list) each.
   */
  save(names: readonly string[]): void {
    const queued = this.waiting !== undefined;
    this.waiting = JSON.stringify({ forgets: names }) + '\n';
    if (queued) return;
    this.writing = this.writing.then(async () => {
      const body = this.waiting ?? '';
      this.waiting = undefined;
      try {
        await replaceStateFile(this.file, body, 0o640);
      } catch (err) {
        this.log.warn({ file: this.file, err: (err as Error).message }, 'owed MQTT forgets not saved');
      }
    });
  }

  /** Until the last save is on disk (a stop waits for it). */
  flushed(): Promise<void> {
    return this.writing;
  }
}
