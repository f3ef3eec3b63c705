import { netmaskOf, onLinkOf } from '../../src/transport/on-link.js';
import { UdpMulticastTransport } from '../../src/transport/udp-multicast.js';

/**
 * Run inside a network namespace by test/udp-two-interfaces.test.ts: two agents' transports on one host, each
 * pinned to an interface of its own (`node group-on-two-interfaces.js ADDRESS_A ADDRESS_B GROUP_PORT`). Each
 * multicasts one datagram; what each handed up, and what each dropped as off its link, is printed as JSON.
 */
async function main(): Promise<void> {
  const [a, b, port] = process.argv.slice(2);
  const report: Record<string, { heard: string[]; offLink: string[] }> = {};
  const transports = [];
  for (const address of [a, b]) {
    const seen = (report[address] = { heard: [] as string[], offLink: [] as string[] });
    const udp = new UdpMulticastTransport({
      group: '239.255.70.70',
      port: Number(port),
      interfaceAddress: address,
      onLink: onLinkOf(address, netmaskOf(address)),
      onOffLink: (from) => seen.offLink.push(from.address),
    });
    await udp.start((data, from) => seen.heard.push(`${Buffer.from(data).toString()} from ${from.address}`));
    transports.push(udp);
  }
  transports.forEach((udp, i) => udp.send(new TextEncoder().encode(`hello from ${[a, b][i]}`)));
  await new Promise((r) => setTimeout(r, 500));
  await Promise.all(transports.map((udp) => udp.stop()));
  process.stdout.write(JSON.stringify(report) + '\n');
}

void main();
