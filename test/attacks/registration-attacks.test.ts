/**
 * Attacks on run-time registration and health checks: hostile check targets, cross-site writes from a
 * browser on the host, and a damaged state file.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { netProbes } from '../../src/health/probes.js';

/** A TCP server that writes `chunk` every 100 ms to whoever connects, forever. */
async function trickler(first: string, chunk: string): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.write(first);
    const t = setInterval(() => s.write(chunk), 100);
    s.on('close', () => {
      clearInterval(t);
      sockets.delete(s);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, sockets };
}

test('an http check against a server that keeps its answer trickling ends at its timeout', async () => {
  // Interim 102 answers, and a header line every 100 ms: each keeps the socket busy, so an idle timeout never fires.
  const servers = [
    await trickler('', 'HTTP/1.1 102 Processing\r\n\r\n'),
    await trickler('HTTP/1.1 200 OK\r\n', 'X-Slow: 1\r\n'),
  ];
  try {
    for (const { port } of servers) {
      const started = Date.now();
      const guard = new Promise<string>((r) => setTimeout(() => r('still running after 3 s'), 3000).unref());
      const result = await Promise.race([netProbes.http(`http://127.0.0.1:${port}/`, 400), guard]);
      assert.type(result, 'object', `the probe ends (${JSON.stringify(result)})`);
      assert.is((result as { status: string }).status, 'critical');
      assert.match((result as { output: string }).output, /ETIMEDOUT/);
      assert.ok(Date.now() - started < 1500, `ends near its 400 ms timeout (${Date.now() - started} ms)`);
    }
  } finally {
    for (const { server, sockets } of servers) {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    }
  }
});

test.run();
