import { UdpMulticastTransport } from '../../src/transport/udp-multicast.js';

/**
 * `node dist/bench/scale/socket-cost.js [sockets] [rounds]`: what the socket path alone adds to a copy of a change
 * on the scale step's site: `sockets` group sockets on loopback in one process (as a child's agents), a handler that
 * does nothing, one 300-byte multicast a round. Gives the wall time between two consecutive handlers of a round
 * (p25, p50) and the process's CPU a copy (the sender's included). Loopback only (127.0.0.1, group 239.255.70.70);
 * keep `sockets` under 50, or run it under the bench's flock.
 */
const GROUP = '239.255.70.70';
const [sockets = 20, rounds = 300] = process.argv.slice(2).map(Number);
const port = 47000 + (process.pid % 1000);
let got = 0;
let first = 0n;
let last = 0n;
const receivers: UdpMulticastTransport[] = [];
for (let i = 0; i < sockets; i++) {
  const t = new UdpMulticastTransport({ group: GROUP, port, interfaceAddress: '127.0.0.1' });
  await t.start(() => {
    const now = process.hrtime.bigint();
    if (got === 0) first = now;
    last = now;
    got += 1;
  });
  receivers.push(t);
}
const sender = new UdpMulticastTransport({ group: GROUP, port: port + 1, interfaceAddress: '127.0.0.1' });
await sender.start(() => undefined);
const data = Buffer.alloc(300, 1);
const spacing: number[] = [];
let cpuUs = 0;
for (let r = 0; r < rounds; r++) {
  got = 0;
  const cpu0 = process.cpuUsage();
  sender.sendTo(data, { address: GROUP, port });
  while (got < sockets) await new Promise((resolve) => setImmediate(resolve));
  const cpu = process.cpuUsage(cpu0);
  if (r >= 20) {
    // The first 20 rounds warm the JIT up.
    spacing.push(Number(last - first) / 1000 / (sockets - 1));
    cpuUs += cpu.user + cpu.system;
  }
  await new Promise((resolve) => setTimeout(resolve, 2));
}
spacing.sort((a, b) => a - b);
const at = (q: number) => +spacing[Math.floor(q * (spacing.length - 1))].toFixed(1);
const cpuUsPerCopy = +(cpuUs / (sockets * spacing.length)).toFixed(1);
console.log(
  JSON.stringify({ sockets, rounds: spacing.length, spacingUsP25: at(0.25), spacingUsP50: at(0.5), cpuUsPerCopy }),
);
for (const t of [...receivers, sender]) await t.stop();
