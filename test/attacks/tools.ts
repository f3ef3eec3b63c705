/**
 * What runs inside a network namespace during an attack test: the attacker's tools and the observer's
 * probe. Run as `node dist/test/attacks/tools.js <tool> '<json args>'`; prints one JSON line, its result.
 * Each tool is bounded in time, so a test never hangs on one.
 */
import { createSocket } from 'node:dgram';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';

type Args = Record<string, unknown>;

/** Raw bytes to a TCP port; the status line of the answer, or '' when the server closed without one. */
async function raw(a: Args): Promise<{ status: string }> {
  return new Promise((resolve) => {
    let out = '';
    const socket = connect(Number(a.port), String(a.host), () => socket.write(String(a.text)));
    socket.on('data', (d: Buffer) => (out += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ status: out.split('\r\n')[0] }));
    socket.setTimeout(3000, () => socket.destroy());
  });
}

/**
 * Opens `count` connections that never send a byte, then waits up to `holdMs` for the server to close
 * them: how many it accepted, how many it still held at the end, and the longest an idle one lived.
 */
async function idle(
  a: Args,
): Promise<{ opened: number; failed: number; connecting: number; stillOpen: number; maxLifeMs: number }> {
  const count = Number(a.count);
  let opened = 0;
  let failed = 0;
  let closed = 0;
  let maxLifeMs = 0;
  const sockets: Socket[] = [];
  const openOne = () =>
    new Promise<void>((resolve) => {
      const s = connect(Number(a.port), String(a.host));
      sockets.push(s);
      s.resume();
      let at = 0;
      s.once('connect', () => {
        opened += 1;
        at = Date.now();
        resolve();
      });
      s.on('error', () => undefined);
      s.once('close', () => {
        if (at === 0) {
          failed += 1;
          resolve();
          return;
        }
        closed += 1;
        maxLifeMs = Math.max(maxLifeMs, Date.now() - at);
      });
    });
  // A SYN the agent's full accept queue dropped is retried by the kernel for a minute: the attack's
  // opening phase is bounded instead, and what is still connecting then is what the agent never took.
  const openUntil = Date.now() + Number(a.openMs ?? 3000);
  for (let i = 0; i < count && Date.now() < openUntil; i += 500) {
    const batch = Promise.all(Array.from({ length: Math.min(500, count - i) }, openOne));
    await Promise.race([batch, new Promise((r) => setTimeout(r, Math.max(0, openUntil - Date.now())))]);
  }
  const deadline = Date.now() + Number(a.holdMs);
  while (closed < opened && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const stillOpen = opened - closed;
  for (const s of sockets) s.destroy();
  return { opened, failed, connecting: sockets.length - opened - failed, stillOpen, maxLifeMs };
}

/** Datagrams from a list (hex), round robin over the `from` addresses, at `rate` a second for `ms`, to a group. */
async function flood(a: Args): Promise<{ sent: number; errors: number }> {
  const datagrams = (a.datagrams as string[]).map((h) => Buffer.from(h, 'hex'));
  // One socket per source address: a flood from many hosts, each within a per-source rate limit.
  const sockets = await Promise.all(
    (Array.isArray(a.from) ? (a.from as string[]) : [String(a.from)]).map(async (from) => {
      const socket = createSocket({ type: 'udp4', reuseAddr: true });
      await new Promise<void>((r) => socket.bind(0, from, r));
      socket.setMulticastInterface(from);
      socket.setMulticastTTL(1);
      return socket;
    }),
  );
  const rate = Number(a.rate);
  const t0 = Date.now();
  let sent = 0;
  let errors = 0;
  while (Date.now() - t0 < Number(a.ms)) {
    const due = Math.floor(((Date.now() - t0) / 1000) * rate);
    for (; sent < due; sent++)
      sockets[sent % sockets.length].send(datagrams[sent % datagrams.length], Number(a.port), String(a.group), (err) =>
        err ? errors++ : undefined,
      );
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 50));
  for (const socket of sockets) socket.close();
  return { sent, errors };
}

function get(port: number, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: 0, body }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.end();
  });
}

/**
 * The observer: /livez every 20 ms (latency percentiles) and /v1/agents every 250 ms (any peer not
 * alive), on the local API of the agent it runs beside, for `ms`.
 */
async function monitor(
  a: Args,
): Promise<{ livez: number; failed: number; p50: number; p99: number; notAlive: string[] }> {
  const port = Number(a.apiPort ?? 7755);
  const t0 = Date.now();
  const latencies: number[] = [];
  const notAlive = new Set<string>();
  let failed = 0;
  let nextAgents = 0;
  while (Date.now() - t0 < Number(a.ms)) {
    const s = performance.now();
    const r = await get(port, '/livez', 2000);
    if (r.status === 200) latencies.push(performance.now() - s);
    else failed += 1;
    if (Date.now() >= nextAgents) {
      nextAgents = Date.now() + 250;
      const agents = await get(port, '/v1/agents', 2000);
      try {
        for (const ag of (JSON.parse(agents.body) as { agents: { name: string; state: string }[] }).agents)
          if (ag.state !== 'alive') notAlive.add(`${ag.name}:${ag.state}`);
      } catch {
        failed += 1;
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  latencies.sort((x, y) => x - y);
  const pct = (p: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? -1);
  return { livez: latencies.length, failed, p50: pct(0.5), p99: pct(0.99), notAlive: [...notAlive] };
}

const TOOLS: Partial<Record<string, (a: Args) => Promise<unknown>>> = { raw, idle, flood, monitor };

const [tool, json] = process.argv.slice(2) as [string | undefined, string | undefined];
if (tool) {
  const fn = TOOLS[tool];
  if (!fn) throw new Error(`no tool ${tool}; tools: ${Object.keys(TOOLS).join(', ')}`);
  process.stdout.write(JSON.stringify(await fn(JSON.parse(json ?? '{}') as Args)) + '\n');
}
