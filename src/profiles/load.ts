import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { PROFILE_LIMITS, type Device } from './model.js';
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

export interface LoadedDevice {
  device: Device;
  file: string;
}

export interface ProfileSet {
  devices: LoadedDevice[];
  errors: ProfileError[];
  files: number;
}

/** Files the loader reads; the JSON Schema that sits beside the profiles is not a device. */
export function isProfileFile(name: string): boolean {
  if (name.startsWith('.') || name === 'schema.json') return false;
  return /\.(ya?ml|json)$/i.test(name);
}

export function formatProfileError(e: ProfileError): string {
  const where = e.line !== undefined ? `${e.file}:${e.line}${e.column !== undefined ? `:${e.column}` : ''}` : e.file;
  return e.field ? `${where}: ${e.field}: ${e.message}` : `${where}: ${e.message}`;
}

/**
 * Reads every profile in a folder and reports every error in every file. Callers apply the result only
 * when `errors` is empty: a half-applied folder would advertise a device set nobody wrote.
 */
export async function loadProfileDir(dir: string): Promise<ProfileSet> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter(isProfileFile).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : (err as Error).message;
    return { devices: [], errors: [{ file: dir, message: `cannot read profiles folder: ${reason}` }], files: 0 };
  }
  const devices: LoadedDevice[] = [];
  const errors: ProfileError[] = [];
  const byId = new Map<string, string>();
  for (const name of names) {
    const file = join(dir, name);
    const result = await loadProfileFile(file);
    if ('errors' in result) {
      errors.push(...result.errors);
      continue;
    }
    const other = byId.get(result.device.id);
    if (other !== undefined) {
      errors.push({
        ...result.idLocation,
        file,
        field: 'id',
        message: `duplicate device id '${result.device.id}' (already defined in ${other})`,
      });
      continue;
    }
    byId.set(result.device.id, file);
    devices.push({ device: result.device, file });
  }
  if (devices.length > PROFILE_LIMITS.devicesPerAgent) {
    errors.push({
      file: dir,
      message: `${devices.length} devices; one agent offers at most ${PROFILE_LIMITS.devicesPerAgent}`,
    });
  }
  return { devices, errors, files: names.length };
}

type FileResult = { device: Device; idLocation: { line?: number; column?: number } } | { errors: ProfileError[] };

export async function loadProfileFile(file: string): Promise<FileResult> {
  let text: string;
  try {
    const info = await stat(file);
    if (!info.isFile()) return { errors: [{ file, message: 'not a regular file' }] };
    if (info.size > PROFILE_LIMITS.fileBytes) {
      return {
        errors: [
          {
            file,
            message: `file is ${info.size} bytes, at most ${PROFILE_LIMITS.fileBytes} are allowed for one profile`,
          },
        ],
      };
    }
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { errors: [{ file, message: `cannot read: ${(err as Error).message}` }] };
  }
  return parseProfileText(text, file);
}

/** Parses YAML or JSON (YAML 1.2 reads JSON) keeping positions, so field errors can name a line. */
export function parseProfileText(text: string, file: string): FileResult {
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
  const value: unknown = doc.toJS({ maxAliasCount: 20 });
  const result = validateDevice(value, { from: 'profile' });
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
