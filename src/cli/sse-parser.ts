export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** A server-sent events parser (the WHATWG format: fields, blank line ends an event). */
export async function* parseSse(body: AsyncIterable<Buffer | string>): AsyncGenerator<SseEvent> {
  let buffer = '';
  let current: { id?: string; event?: string; data: string[] } = { data: [] };
  // A read may end inside a character: the decoder keeps its first bytes until the rest arrives.
  const utf8 = new TextDecoder('utf-8');
  for await (const chunk of body) {
    buffer += typeof chunk === 'string' ? chunk : utf8.decode(chunk, { stream: true });
    let nl;
    while ((nl = buffer.indexOf('\n')) !== -1) {
      const line = buffer.slice(0, nl).replace(/\r$/, '');
      buffer = buffer.slice(nl + 1);
      if (line === '') {
        if (current.data.length > 0 || current.event)
          yield { id: current.id, event: current.event ?? 'message', data: current.data.join('\n') };
        current = { data: [] };
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') current.id = value;
      else if (field === 'event') current.event = value;
      else if (field === 'data') current.data.push(value);
    }
  }
}
