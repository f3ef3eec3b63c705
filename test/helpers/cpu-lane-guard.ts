import childProcess from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';

/**
 * Preloaded (node --import) by the cpu lane of `npm test` (run-lanes.ts), before any test file: a file in that
 * lane waits on nothing outside its process, so starting a process, opening a socket or watching a file there
 * means the lane rule (lanes.ts) put a real-time file in the wrong lane. Each such call throws, naming the test
 * file from its stack, and fails the run at exit even where a caller swallowed the error.
 */
const refused: string[] = [];

function testFileIn(stack: string): string {
  return /dist\/test\/(\S+?\.test\.js)/.exec(stack)?.[1] ?? 'a file of the cpu lane';
}

function refuse(what: string): never {
  const err = new Error(
    `${what} in the cpu lane of npm test: the lane rule (test/helpers/lanes.ts) missed that this file waits on ` +
      'the world; import what it uses from the test file, or a module of lanes.ts WORLD, so it runs real-time',
  );
  refused.push(`${testFileIn(err.stack ?? '')}: ${what}`);
  throw err;
}

function guard(target: object, names: string[], what: string): void {
  const record = target as Record<string, unknown>;
  for (const name of names) {
    if (typeof record[name] !== 'function') continue;
    record[name] = () => refuse(`${what}.${name}`);
  }
}

guard(childProcess, ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'], 'child_process');
guard(fs, ['watch', 'watchFile'], 'fs');
guard(fs.promises, ['watch'], 'fs.promises');
guard(net.Server.prototype, ['listen'], 'net.Server');
guard(net.Socket.prototype, ['connect'], 'net.Socket');
guard(dgram.Socket.prototype, ['bind', 'send'], 'dgram.Socket');
// Named imports of built-in modules (import { spawn } from 'node:child_process') see the patched functions too.
syncBuiltinESMExports();

process.on('exit', () => {
  if (refused.length === 0) return;
  console.error(`\n✘ real-time calls in the cpu lane:\n  ${refused.join('\n  ')}`);
  process.exitCode = 1;
});

export {};
