import { SiteEmulator, type EmulatorCounts, type EmulatorInit } from './site-emulator.js';

/**
 * The emulated site in a process of its own (forked with an IPC channel), so that the measured agent's
 * CPU and memory are its own and the emulator's CPU is read apart. argv[2]: the EmulatorInit as JSON.
 * Messages in: 'counts', 'stop'. Out: { ready: meanIntervalMs }, { counts }.
 */
export type EmulatorReply = { ready: number } | { counts: EmulatorCounts; meanIntervalMs: number };

const send = (reply: EmulatorReply) => process.send?.(reply);
const emulator = new SiteEmulator(JSON.parse(process.argv[2]) as EmulatorInit);
await emulator.start();
send({ ready: emulator.meanIntervalMs() });
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void emulator.stop().finally(() => process.exit(0));
};
process.on('message', (m) => {
  if (m === 'counts') send({ counts: emulator.counts, meanIntervalMs: emulator.meanIntervalMs() });
  else if (m === 'stop') stop();
});
// The bench went away (killed, crashed): nothing is left behind on loopback.
process.on('disconnect', stop);
