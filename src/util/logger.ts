import { Writable } from 'node:stream';
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogFormat = 'json' | 'pretty' | 'auto';

/**
 * JSON lines to stdout for machines (journald, log shippers); a short human line only when asked for
 * or when stdout is a terminal. The pretty form is a few lines here rather than a pino-pretty
 * dependency with its own worker thread.
 */
export function createLogger(opts: {
  level: LevelWithSilent;
  format?: LogFormat;
  destination?: NodeJS.WritableStream;
  base?: Record<string, unknown>;
}): Logger {
  const out = opts.destination ?? process.stdout;
  const pretty = opts.format === 'pretty' || (opts.format !== 'json' && (out as { isTTY?: boolean }).isTTY === true);
  const options = { level: opts.level, base: opts.base ?? {}, timestamp: pino.stdTimeFunctions.isoTime };
  return pretty ? pino(options, prettyStream(out)) : pino(options, out as pino.DestinationStream);
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};

function prettyStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        try {
          const { level, time, msg, ...rest } = JSON.parse(line) as Record<string, unknown>;
          const extra = Object.entries(rest)
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ');
          const clock = typeof time === 'string' ? time.slice(11, 23) : '';
          out.write(`${clock} ${LEVEL_NAMES[level as number] ?? level} ${msg ?? ''}${extra ? '  ' + extra : ''}\n`);
        } catch {
          out.write(line + '\n');
        }
      }
      done();
    },
  });
}

/** A logger that keeps its lines as parsed objects: tests read logs as data. */
export function memoryLogger(level: LevelWithSilent = 'debug'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level, base: {} }, sink), lines };
}
