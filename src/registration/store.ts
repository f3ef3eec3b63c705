import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Device } from '../profiles/model.js';
import { validateDevice } from '../profiles/validate.js';
import type { Logger } from '../util/logger.js';
import { readStateFile, replaceStateFile } from '../util/state-file.js';

/** A registration kept across restarts (`persist: true`): the document as registered, validated again on load. */
export interface StoredRegistration {
  document: unknown;
  ttlMs?: number;
}

export interface RestoredRegistration {
  device: Device;
  document: unknown;
  ttlMs?: number;
}

/** Where persistent registrations live; an agent without a state folder has none. */
export interface RegistrationStore {
  readonly description: string;
  load(): Promise<{ registrations: RestoredRegistration[]; errors: string[] }>;
  save(registrations: StoredRegistration[]): Promise<void>;
}

const FORMAT = 1;

/**
 * Saves in the order they were asked for, one at a time; `settled()` waits for every save asked so far
 * and fails while the last one failed, so that a registrant is not told "kept" when it is not.
 */
export class SaveQueue {
  private chain: Promise<void> = Promise.resolve();
  private error: Error | undefined;

  constructor(
    private readonly store: RegistrationStore,
    private readonly logger: Logger,
  ) {}

  save(registrations: StoredRegistration[]): void {
    this.chain = this.chain
      .then(() => this.store.save(registrations))
      .then(() => {
        this.error = undefined;
      })
      .catch((err: unknown) => {
        this.error = err as Error;
        this.logger.error({ err: this.error.message, file: this.store.description }, 'cannot save registrations');
      });
  }

  settled(): Promise<void> {
    return this.chain.then(() => {
      if (this.error) throw this.error;
    });
  }
}

/**
 * `registrations.json` in the state folder, replaced atomically (write a temporary file, fsync,
 * rename, fsync the folder: replaceStateFile), so that a crash mid-write leaves the old file or the new one, never
 * half of either.
 */
export class FileRegistrationStore implements RegistrationStore {
  readonly description: string;
  private readonly file: string;

  constructor(private readonly dir: string) {
    this.file = join(dir, 'registrations.json');
    this.description = this.file;
  }

  async load(): Promise<{ registrations: RestoredRegistration[]; errors: string[] }> {
    let text: string;
    try {
      // Not readFile: a FIFO at the path held the start, and its copy aside below would have held it again.
      text = await readStateFile(this.file);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT') return { registrations: [], errors: [] };
      return { registrations: [], errors: [`cannot read ${this.file}: ${e.code ?? e.message}`] };
    }
    const parsed = parseStored(text, this.file);
    if (parsed.errors.length === 0) return parsed;
    // The next persistent registration rewrites the file from what was restored: what could not be
    // restored would be gone for good. A copy lets the operator mend it and put it back.
    const aside = `${this.file}.damaged`;
    const kept = await copyFile(this.file, aside).then(
      () => `the file as it was is kept in ${aside}`,
      (err: unknown) => `cannot keep a copy in ${aside}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
    return { ...parsed, errors: [...parsed.errors, kept] };
  }

  async save(registrations: StoredRegistration[]): Promise<void> {
    await replaceStateFile(this.file, JSON.stringify({ format: FORMAT, registrations }, null, 1) + '\n', 0o600);
  }
}

/** Each stored device passes the same validation as a profile; a bad entry is reported and skipped. */
export function parseStored(text: string, file: string): { registrations: RestoredRegistration[]; errors: string[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { registrations: [], errors: [`${file} is not valid JSON; persistent registrations were not restored`] };
  }
  const list = (doc as { registrations?: unknown } | null)?.registrations;
  if (!Array.isArray(list)) return { registrations: [], errors: [`${file} holds no registrations list`] };
  const registrations: RestoredRegistration[] = [];
  const errors: string[] = [];
  for (const [i, entry] of list.entries()) {
    const e = (entry ?? {}) as { document?: unknown; ttlMs?: unknown };
    const v = validateDevice(e.document, { from: 'profile' });
    if (!v.ok) {
      errors.push(`${file}: registrations[${i}] is not a valid device: ${v.errors[0].message}`);
      continue;
    }
    const ttlMs = typeof e.ttlMs === 'number' && e.ttlMs > 0 ? e.ttlMs : undefined;
    registrations.push({ device: v.device, document: e.document, ...(ttlMs ? { ttlMs } : {}) });
  }
  return { registrations, errors };
}
