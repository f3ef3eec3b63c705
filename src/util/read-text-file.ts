import { readFile } from 'node:fs/promises';

/**
 * Reads a file the operator named (config, key, token). A failure becomes the caller's typed error, so
 * that it decides the exit code, with a message naming the file and the reason (ENOENT, EACCES, ...).
 */
export async function readTextFile(file: string, what: string, toError: (message: string) => Error): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw toError(`cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
