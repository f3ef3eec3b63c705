import { deflateRawSync } from 'node:zlib';
import type { Device } from '../../src/profiles/model.js';

/**
 * Datagrams crafted to cost the most to decode while fitting about 640 bytes: a well-formed announcement
 * whose deflated delta inflates to about 34 KB (fifty times its size) of valid, repetitive devices (each one is
 * validated like a profile). `unsigned` is the message alone; `forged` adds a trailer with the cluster
 * key's id (one byte, easy to guess) and a random tag.
 */
export function costlyJunk(site: string, keyId: number): { unsigned: Buffer; forged: Buffer } {
  const devices: Device[] = [];
  const text = () => JSON.stringify({ version: 7, added: devices, updated: [], removed: [] });
  while (text().length < 34_000) {
    devices.push({
      id: `d${devices.length}`,
      name: 'Junk device',
      tags: ['a', 'b', 'c'],
      names: [],
      capabilities: [
        { id: 'value', kind: 'property', type: 'temperature', unit: 'C' },
        { id: 'set', kind: 'action', type: 'switch' },
      ],
    });
  }
  const payload = deflateRawSync(Buffer.from(text()), { level: 9 });
  const head = Buffer.from([0x48, 0x52, 1, 1, 1 | 2, site.length, ...Buffer.from(site), 4, ...Buffer.from('evil')]);
  const fields = Buffer.from([5, 7, 0x1e, 0x6b, 0]); // incarnation 5, version 7, peer port 7787, no hints
  const unsigned = Buffer.concat([head, fields, varint(payload.length), payload]);
  const trailer = Buffer.alloc(17, 0x5a); // key id, 32-bit time, 96-bit tag (hmac-envelope.ts)
  trailer[0] = keyId;
  return { unsigned, forged: Buffer.concat([unsigned, trailer]) };
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 128) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}
