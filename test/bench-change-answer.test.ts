import { createSocket, type Socket } from 'node:dgram';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { afterOwnCopies } from '../bench/scale/after-copies.js';

/**
 * The scale step's origin child answers the bench's `change` command after its loop has read its own agents'
 * copies of the change, not before them (change19): the answer's IPC write, and the bench it wakes, must not sit
 * in front of the copies it times. Here a command arrives as a datagram (the poll phase, as the IPC channel's
 * message does), its handler sends the change to five sockets of the same process on loopback, and answers.
 */
const bound = () =>
  new Promise<Socket>((resolve) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => resolve(s));
  });

test("the origin's child answers a change once its own copies of it are read", async () => {
  const receivers = await Promise.all(Array.from({ length: 5 }, bound));
  const [command, sender] = [await bound(), await bound()];
  let read = 0;
  for (const r of receivers) r.on('message', () => (read += 1));
  const readWhenAnswered = new Promise<number>((resolve) =>
    command.once('message', () => {
      for (const r of receivers) sender.send('change', r.address().port, '127.0.0.1');
      void afterOwnCopies().then(() => resolve(read));
    }),
  );
  sender.send('change 1', command.address().port, '127.0.0.1');
  const answered = await readWhenAnswered;
  for (const s of [...receivers, command, sender]) s.close();
  assert.is(answered, 5, 'every copy read before the answer');
});

test.run();
