import { Writable } from 'node:stream';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { JOURNAL_PRIORITY } from './journald.js';

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
  /** stdout goes to journald: each JSON line gets its `<N>` priority prefix (see util/journald.ts). */
  journald?: boolean;
}): Logger {
  const out = opts.destination ?? process.stdout;
  const pretty = opts.format === 'pretty' || (opts.format !== 'json' && (out as { isTTY?: boolean }).isTTY === true);
  const options = { level: opts.level, base: opts.base ?? {}, timestamp: pino.stdTimeFunctions.isoTime };
  if (pretty) return pino(options, prettyStream(out));
  if (opts.journald) return pino(options, journaldStreams(out));
  return pino(options, out as pino.DestinationStream);
}

/** One stream per level, each writing its priority before the line; dedupe sends a line to one only. */
function journaldStreams(out: NodeJS.WritableStream): pino.MultiStreamRes {
  const streams = JOURNAL_PRIORITY.map(([level, priority]) => ({
    level: pino.levels.labels[level] as pino.Level,
    stream: { write: (line: string) => out.write(`<${priority}>${line}`) },
  }));
  return pino.multistream(streams, { dedupe: true });
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
          const text = typeof msg === 'string' ? msg : msg === undefined ? '' : JSON.stringify(msg);
          out.write(`${clock} ${LEVEL_NAMES[level as number] ?? String(level)} ${text}${extra ? '  ' + extra : ''}\n`);
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
