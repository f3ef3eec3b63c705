import { readlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';

/**
 * The paths fsynced while `run` runs, in order (each handle's path read from /proc at its sync). The FileHandle's
 * prototype is patched for the while: node:fs/promises gives no other seam.
 */
export async function syncedDuring(run: () => Promise<void>): Promise<string[]> {
  const probe = await open(process.execPath, 'r');
  type Sync = (this: { fd: number }) => Promise<void>;
  const proto = Object.getPrototypeOf(probe) as { sync: Sync; datasync: Sync };
  await probe.close();
  const [sync, datasync] = [proto.sync, proto.datasync];
  const synced: string[] = [];
  const record = (original: Sync): Sync =>
    function (this: { fd: number }) {
      synced.push(readlinkSync(`/proc/self/fd/${this.fd}`));
      return original.call(this);
    };
  proto.sync = record(sync);
  proto.datasync = record(datasync);
  try {
    await run();
  } finally {
    proto.sync = sync;
    proto.datasync = datasync;
  }
  return synced;
}
