import { isMap, isSeq, LineCounter, parseDocument, visit, type Document, type Node as YamlNode } from 'yaml';
import type { Device } from './model.js';
import { formatPath, validateDevice, type FieldPath } from './validate.js';

/** One problem in one profile file, located as precisely as the parser allows. */
export interface ProfileError {
  file: string;
  line?: number;
  column?: number;
  /** Field path such as `capabilities[0].kind`; absent for syntax errors. */
  field?: string;
  message: string;
}

export type FileResult =
  { device: Device; idLocation: { line?: number; column?: number } } | { errors: ProfileError[] };

/**
 * Aliases (`*name`) a profile may use. A handful is convenient; many are a "billion laughs" document,
 * whose expansion would take the agent's memory. The parser's own guard throws; counting first turns
 * that into an error about the file.
 */
export const MAX_PROFILE_ALIASES = 20;

/**
 * Parses a profile keeping positions, so that field errors can name a line. A `.json` file is checked
 * as JSON first, so that its syntax errors are told in JSON's terms (YAML reads JSON, but explains a
 * trailing comma as a "flow sequence in block collection").
 */
export function parseProfileText(text: string, file: string): FileResult {
  if (/\.json$/i.test(file)) {
    const jsonError = checkJson(text, file);
    if (jsonError) return { errors: [jsonError] };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      errors: doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return { file, line: pos.line, column: pos.col, message: `syntax error: ${e.message.split('\n')[0]}` };
      }),
    };
  }
  const value = toData(doc, file);
  if ('errors' in value) return value;
  const result = validateDevice(value.data, { from: 'profile' });
  if (!result.ok) {
    return {
      errors: result.errors.map((e) => ({
        file,
        ...locate(doc, e.path, lineCounter),
        field: formatPath(e.path),
        message: e.message,
      })),
    };
  }
  return { device: result.device, idLocation: locate(doc, ['id'], lineCounter) };
}

/** The document as plain data, or why it cannot safely be made into data. */
function toData(doc: Document, file: string): { data: unknown } | { errors: ProfileError[] } {
  let aliases = 0;
  visit(doc, {
    Alias: () => {
      aliases += 1;
    },
  });
  if (aliases > MAX_PROFILE_ALIASES) {
    const message = `${aliases} YAML aliases (*name); a profile may use at most ${MAX_PROFILE_ALIASES}`;
    return { errors: [{ file, message }] };
  }
  try {
    return { data: doc.toJS({ maxAliasCount: MAX_PROFILE_ALIASES }) };
  } catch (err) {
    // Few aliases that still expand too far (nested anchors): the parser's guard; any other failure to
    // build the data is reported the same way, as this file's fault, never thrown to the agent.
    const message = `cannot be read as data: ${err instanceof Error ? err.message : String(err)}`;
    return { errors: [{ file, message }] };
  }
}

/** A JSON syntax error located by line and column, in JSON's words; undefined when the text is JSON. */
function checkJson(withBom: string, file: string): ProfileError | undefined {
  // Windows editors save UTF-8 with a byte-order mark, which JSON.parse refuses and YAML skips.
  const text = withBom.charCodeAt(0) === 0xfeff ? withBom.slice(1) : withBom;
  try {
    JSON.parse(text);
    return undefined;
  } catch (err) {
    const raw = err instanceof Error ? err.message : String(err);
    // V8 says where in its text ("at position 11"); that number only places the error, it decides nothing.
    const position = /at position (\d+)/.exec(raw);
    const words = raw
      .replace(/ in JSON at position \d+.*$/s, '')
      .replace(/ at position \d+.*$/s, '')
      .replace(/ \(line \d+ column \d+\)$/, '');
    const message = `JSON syntax error: ${words}`;
    if (!position) return { file, message };
    const before = text.slice(0, Number(position[1]));
    const line = before.split('\n').length;
    return { file, line, column: Number(position[1]) - before.lastIndexOf('\n'), message };
  }
}

/** The line and column of the deepest node on `path` that exists: a missing field points at its parent. */
function locate(doc: Document, path: FieldPath, lc: LineCounter): { line?: number; column?: number } {
  let node: unknown = doc.contents;
  let offset: number | undefined = (node as YamlNode | null)?.range?.[0];
  for (const part of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === part);
      if (!pair) break;
      offset = (pair.key as YamlNode).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof part === 'number') {
      const item = node.items[part] as YamlNode | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else break;
  }
  if (offset === undefined) return {};
  const pos = lc.linePos(offset);
  return { line: pos.line, column: pos.col };
}
