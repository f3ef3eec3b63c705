import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs with a fresh `state` folder inside a temporary one (`root`, for files beside it), removed after. */
export async function withStateDir(prefix: string, run: (state: string, root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  try {
    await mkdir(join(root, 'state'));
    await run(join(root, 'state'), root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** The promise's outcome (its value, or its error's message), or 'pending' if it has not settled within `ms`. */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | { error: string } | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), ms)));
  const settled = p.catch((err: unknown) => ({ error: (err as Error).message }));
  return Promise.race([settled, late]).finally(() => clearTimeout(timer));
}
