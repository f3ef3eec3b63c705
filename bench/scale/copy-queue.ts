import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { UdpMulticastTransport } from '../../src/transport/udp-multicast.js';

/**
 * `node dist/bench/scale/copy-queue.js [children] [sockets] [rounds] [busyUs]`: the scale step's layout without
 * Herald (idle21, issue 18's change p99 at 200). `children` processes of `sockets` group sockets each on loopback
 * (the 200 step: 4 × 50), one multicast datagram of 500 bytes (an announcement's size) a round from this process,
 * 50 ms apart (the step's changes); each handler spins `busyUs` of CPU, standing for a copy's receive path (0: the
 * socket path alone; ~35 µs: Herald's copy up to its directory holding the change, cpu18). Each round's delay from
 * the send (stamped in the datagram, CLOCK_MONOTONIC, one clock for every process) to the first and the last copy
 * handled in any child: what the layout alone makes of the change p99. Loopback only (127.0.0.1, 239.255.70.71):
 * run it under the bench's flock past 100 sockets.
 */
const GROUP = '239.255.70.71';
const WARM_ROUNDS = 20;

interface ChildRounds {
  first: number[];
  last: number[];
}

async function child(sockets: number, busyUs: number, port: number): Promise<void> {
  const rounds: ChildRounds = { first: [], last: [] };
  const receivers: UdpMulticastTransport[] = [];
  for (let i = 0; i < sockets; i++) {
    const t = new UdpMulticastTransport({ group: GROUP, port, interfaceAddress: '127.0.0.1' });
    await t.start((bytes) => {
      const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const spin = process.hrtime.bigint() + BigInt(Math.round(busyUs * 1000));
      while (process.hrtime.bigint() < spin);
      const round = data.readUInt32BE(8);
      const ms = Number(process.hrtime.bigint() - data.readBigUInt64BE(0)) / 1e6;
      rounds.first[round] = Math.min(rounds.first[round] ?? Infinity, ms);
      rounds.last[round] = Math.max(rounds.last[round] ?? 0, ms);
    });
    receivers.push(t);
  }
  process.send!('ready');
  process.once('message', () => {
    process.send!(rounds, () => void Promise.all(receivers.map((t) => t.stop())).then(() => process.exit(0)));
  });
}

function percentile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return +sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)].toFixed(2);
}

async function main(children: number, sockets: number, rounds: number, busyUs: number): Promise<void> {
  const port = 48000 + (process.pid % 1000);
  const self = fileURLToPath(import.meta.url);
  const kids: ChildProcess[] = [];
  for (let k = 0; k < children; k++) {
    const c = fork(self, ['--child', String(sockets), String(busyUs), String(port)]);
    await new Promise((resolve) => c.once('message', resolve));
    kids.push(c);
  }
  const sender = new UdpMulticastTransport({ group: GROUP, port: port + 1, interfaceAddress: '127.0.0.1' });
  await sender.start(() => undefined);
  const data = Buffer.alloc(500, 1);
  for (let r = 0; r < rounds + WARM_ROUNDS; r++) {
    data.writeUInt32BE(r, 8);
    data.writeBigUInt64BE(process.hrtime.bigint(), 0);
    sender.sendTo(data, { address: GROUP, port });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  const got = await Promise.all(
    kids.map((c) => new Promise<ChildRounds>((resolve) => (c.once('message', resolve), c.send('report')))),
  );
  await sender.stop();
  const timed = Array.from({ length: rounds }, (_, i) => i + WARM_ROUNDS);
  const last = timed.map((r) => Math.max(...got.map((g) => g.last[r] ?? Infinity)));
  const first = timed.map((r) => Math.min(...got.map((g) => g.first[r] ?? Infinity)));
  const lost = last.filter((x) => !Number.isFinite(x)).length;
  const held = last.filter(Number.isFinite);
  console.log(
    JSON.stringify({
      children,
      sockets,
      rounds,
      busyUs,
      lost,
      firstP50Ms: percentile(first, 0.5),
      lastP50Ms: percentile(held, 0.5),
      lastP99Ms: percentile(held, 0.99),
      lastMaxMs: percentile(held, 1),
    }),
  );
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') await child(Number(argv[1]), Number(argv[2]), Number(argv[3]));
else {
  const [children = 4, sockets = 50, rounds = 200, busyUs = 0] = argv.map(Number);
  await main(children, sockets, rounds, busyUs);
}
