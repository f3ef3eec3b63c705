import { Readable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseSse, type SseEvent } from '../../src/cli/sse-parser.js';

async function collect(chunks: Buffer[]): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  // One chunk per read, as a socket delivers them.
  for await (const e of parseSse(Readable.from(chunks))) events.push(e);
  return events;
}

test('an SSE event whose UTF-8 is split between two network reads keeps its characters', async () => {
  const text = 'id: 1-1\nevent: device-added\ndata: {"name":"Gewächshaus","unit":"°C"}\n\n';
  const bytes = Buffer.from(text, 'utf8');
  // Every split point, as TCP may deliver any of them: those inside 'ä' or '°' used to give U+FFFD.
  for (let at = 1; at < bytes.length; at++) {
    const events = await collect([bytes.subarray(0, at), bytes.subarray(at)]);
    assert.is(events.length, 1, `split at ${at}`);
    assert.is(events[0].data, '{"name":"Gewächshaus","unit":"°C"}', `split at byte ${at}`);
  }
});

test.run();
