import { constants } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * A file of the agent's own in its state folder, read back at a start. Opened without blocking: a FIFO at the path
 * (a damaged or tampered state folder) held the read, and the start that waits for it, until something wrote to it
 * (attack22: the owed forgets; s23: identity.json, registrations.json). Anything but a regular file within `maxBytes`
 * is an error: the agent writes far less, and a larger one is damage, not worth reading whole. ENOENT passes through
 * as it came.
 */
export async function readStateFile(file: string, maxBytes = Infinity): Promise<string> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new Error('not a regular file');
    if (stat.size > maxBytes) throw new Error(`${stat.size} bytes, past ${maxBytes}`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * Replaces the file whole: written to a temporary file beside it and fsynced, renamed over it, then the folder
 * fsynced. A crash or a power cut leaves the old file or the new one. Without the first fsync the rename could reach
 * the disk before the data (an empty or torn file after a power cut); without the second, the rename itself could be
 * undone after the caller went on as if it had landed.
 */
export async function replaceStateFile(file: string, body: string, mode: number): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  // Whatever lies at the path (a pid is known ahead in a container) is unlinked, itself: a FIFO there held the start
  // on 'w', a symlink had its target written, a file left there gave ours its mode (attacks/state-temp-path). Created
  // anew, exclusively: one put there meanwhile is an error, not followed.
  await rm(tmp, { force: true });
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
  const handle = await open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  try {
    try {
      await handle.writeFile(body);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {}); // a full disk leaves no temporary file per attempt
    throw err;
  }
  const folder = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}
