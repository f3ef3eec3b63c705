import { chmod, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

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
    await rm(this.path, { force: true }); // a socket file left by a crash
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
