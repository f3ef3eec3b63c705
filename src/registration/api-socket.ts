import { chmod, lstat, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';

/**
 * The local API on a unix socket as well, mode 0660: whoever the file's owner and group let in may
 * write, as avahi's D-Bus policy decides who may publish. The handler is the API server's own.
 */
export class ApiSocket {
  private server: Server | undefined;

  constructor(
    private readonly path: string,
    private readonly handler: (req: IncomingMessage, res: ServerResponse) => void,
  ) {}

  async start(): Promise<void> {
    await removeStaleSocket(this.path);
    const server = createServer(this.handler);
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    await chmod(this.path, 0o660);
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * Removes a socket file left by a crash, and nothing else: not a file the path names by mistake (the
 * agent may run as root), nor the socket of another agent still serving it.
 */
async function removeStaleSocket(path: string): Promise<void> {
  const found = await lstat(path).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  });
  if (!found) return;
  if (!found.isSocket())
    throw Object.assign(new Error(`--api-socket ${path}: the path exists and is not a socket; not replacing it`), {
      code: 'EEXIST',
    });
  const served = await new Promise<boolean>((resolve) => {
    const probe = connect(path, () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (served)
    throw Object.assign(new Error(`--api-socket ${path}: another process serves this socket`), {
      code: 'EADDRINUSE',
      address: path,
    });
  await rm(path, { force: true });
}
