import { constants } from 'node:fs';
import { mkdir, open, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../util/logger.js';

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

  constructor(
    private readonly file: string,
    private readonly log: Logger,
    private readonly limit: number,
  ) {}

  /** The names owed at the last save; none when there is no file. A damaged file is reported and read as empty. */
  async load(): Promise<string[]> {
    let text: string;
    try {
      text = await this.read();
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
   * The file's text, if it is a regular file within FILE_BYTES. Opened without blocking: a FIFO at the path (a damaged
   * or tampered state folder) held the read, and the bridge's start that waits for it, until something wrote to it.
   */
  private async read(): Promise<string> {
    const handle = await open(this.file, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new Error('not a regular file');
      if (stat.size > FILE_BYTES) throw new Error(`${stat.size} bytes, past ${FILE_BYTES}`);
      return await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  }

  /** Saves the list (written to a temporary file, then renamed: a crash mid-write leaves the old list or the new). */
  save(names: readonly string[]): void {
    const body = JSON.stringify({ forgets: names }) + '\n';
    this.writing = this.writing.then(async () => {
      try {
        await mkdir(dirname(this.file), { recursive: true });
        const tmp = `${this.file}.${process.pid}.tmp`;
        await writeFile(tmp, body, { mode: 0o640 });
        await rename(tmp, this.file);
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
