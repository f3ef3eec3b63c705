import { fstatSync, fchmodSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { EXIT } from '../config/options.js';
import { generateKey } from '../security/cluster-key.js';
import { CliError } from './cli-error.js';

const HOW_TO_INSTALL = (file: string) =>
  `herald keygen: wrote ${file} (mode 0600). Copy this same file to every agent of the site as\n` +
  `/etc/herald/cluster.key (root, mode 0600); the unit passes it to the agent with LoadCredential=,\n` +
  `then: systemctl restart herald\n`;

/**
 * A new cluster key. Written with --out as a new 0600 file (never over an existing one: that would
 * split the site); printed to stdout otherwise, and when stdout is a file (`> cluster.key`) that file
 * is made 0600 too, whatever the shell's umask made it.
 */
export async function runKeygenCommand(values: Record<string, unknown>): Promise<number> {
  const key = generateKey() + '\n';
  const out = values.out as string | undefined;
  if (out === undefined) {
    const st = fstatSync(1);
    if (st.isFile() && (st.mode & 0o077) !== 0) fchmodSync(1, 0o600);
    process.stdout.write(key);
    if (st.isFile()) process.stderr.write(HOW_TO_INSTALL('the key'));
    return EXIT.ok;
  }
  try {
    await writeFile(out, key, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    const hint =
      code === 'EEXIST' ? ' (a key is already there: replacing it would split the site; see key rotation)' : '';
    throw new CliError(`keygen: cannot write ${out}: ${code}${hint}`, EXIT.config);
  }
  process.stderr.write(HOW_TO_INSTALL(out));
  return EXIT.ok;
}
