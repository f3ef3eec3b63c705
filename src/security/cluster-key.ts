import { createHash, randomBytes } from 'node:crypto';
import { readTextFile } from '../util/read-text-file.js';

/** One shared secret of the site. The id (a hash prefix) tells receivers which key signed. */
export interface ClusterKey {
  id: number;
  secret: Buffer;
}

/** The keys an agent holds: the first signs, every one verifies (two during a rotation). */
export interface KeyRing {
  signing: ClusterKey;
  all: ClusterKey[];
}

export const MIN_KEY_BYTES = 32;

export class KeyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyFileError';
  }
}

/**
 * A key file holds one key per line, hex (64+ digits) or base64 (32+ bytes); `#` starts a comment.
 * The first key signs; all verify. Rotation: add the new key as a second line everywhere, then move it
 * first everywhere, then remove the old one: no agent ever refuses another.
 */
export async function loadKeyRing(file: string): Promise<KeyRing> {
  const text = await readTextFile(file, 'key file', (message) => new KeyFileError(message));
  return parseKeyRing(text, file);
}

export function parseKeyRing(text: string, source = 'key file'): KeyRing {
  const keys: ClusterKey[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    let secret: Buffer;
    if (/^[0-9a-fA-F]+$/.test(line) && line.length % 2 === 0) secret = Buffer.from(line, 'hex');
    else if (/^[A-Za-z0-9+/]+={0,2}$/.test(line)) secret = Buffer.from(line, 'base64');
    else throw new KeyFileError(`${source}:${i + 1}: not a hex or base64 key`);
    if (secret.length < MIN_KEY_BYTES)
      throw new KeyFileError(`${source}:${i + 1}: key is ${secret.length} bytes, at least ${MIN_KEY_BYTES} are needed`);
    keys.push({ id: keyId(secret), secret });
  });
  if (keys.length === 0) throw new KeyFileError(`${source}: no key in it (one hex or base64 key per line)`);
  if (keys.length > 2)
    throw new KeyFileError(`${source}: ${keys.length} keys; at most two (the new and the old one, during a rotation)`);
  if (keys.length === 2 && keys[0].id === keys[1].id)
    throw new KeyFileError(`${source}: the two keys have the same id; generate a new key`);
  return { signing: keys[0], all: keys };
}

export function keyId(secret: Buffer): number {
  return createHash('sha256').update('herald key id').update(secret).digest()[0];
}

/** A new random key, hex: what `herald keygen` prints. */
export function generateKey(): string {
  return randomBytes(32).toString('hex');
}
