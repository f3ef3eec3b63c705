import { execFile } from 'node:child_process';

/**
 * Every retained message under `filter` as the broker holds it now, read back with Mosquitto's own
 * client (`mosquitto_sub --retained-only`), as a user checking for ghosts would.
 */
export function retainedOnly(port: number, filter = '#', waitS = 1): Promise<Map<string, string>> {
  return new Promise((resolve) => {
    execFile(
      'mosquitto_sub',
      ['-h', '127.0.0.1', '-p', String(port), '-t', filter, '--retained-only', '-W', String(waitS), '-F', '%t\t%p'],
      { maxBuffer: 64 * 1024 * 1024 },
      // -W ends it with a timeout status: what it printed is the answer either way.
      (_err, stdout) => {
        const out = new Map<string, string>();
        for (const line of stdout.split('\n')) {
          const tab = line.indexOf('\t');
          if (tab > 0) out.set(line.slice(0, tab), line.slice(tab + 1));
        }
        resolve(out);
      },
    );
  });
}
