import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PROFILE_LIMITS, type Device } from './model.js';
import { parseProfileText, type FileResult, type ProfileError } from './parse.js';

export { parseProfileText, type ProfileError } from './parse.js';

export interface LoadedDevice {
  device: Device;
  file: string;
}

export interface ProfileSet {
  /** The valid devices; with `errors` not empty, the caller decides whether to serve them. */
  devices: LoadedDevice[];
  /** Every error, sorted by file, line and column. */
  errors: ProfileError[];
  files: number;
  /** The folder itself could not be read (missing, not a folder): nothing was looked at. */
  unreadable?: boolean;
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

/** Reads every profile in a folder and reports every error in every file. */
export async function loadProfileDir(dir: string): Promise<ProfileSet> {
  const listed = await listFolder(dir);
  if ('error' in listed) return { devices: [], errors: [listed.error], files: 0, unreadable: true };
  return loadProfileFiles(listed.files, dir);
}

/** `herald check`: files and folders, each folder's profiles read as the agent reads them. */
export async function loadProfilePaths(paths: string[]): Promise<ProfileSet> {
  const files: string[] = [];
  const errors: ProfileError[] = [];
  for (const path of paths) {
    const info = await stat(path).catch((err: unknown) => err as NodeJS.ErrnoException);
    if (info instanceof Error) errors.push({ file: path, message: `cannot read: ${info.code ?? info.message}` });
    else if (!info.isDirectory()) files.push(path);
    else {
      const listed = await listFolder(path);
      if ('error' in listed) errors.push(listed.error);
      else files.push(...listed.files);
    }
  }
  const set = await loadProfileFiles(files, paths.join(', '));
  return { ...set, errors: sortErrors([...errors, ...set.errors]) };
}

async function listFolder(dir: string): Promise<{ files: string[] } | { error: ProfileError }> {
  try {
    return {
      files: (await readdir(dir))
        .filter(isProfileFile)
        .sort()
        .map((name) => join(dir, name)),
    };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : (code ?? String(err));
    return { error: { file: dir, message: `cannot read profiles folder: ${reason}` } };
  }
}

type Parsed = Extract<FileResult, { device: Device }> & { file: string; mtimeMs: number };

async function loadProfileFiles(files: string[], where: string): Promise<ProfileSet> {
  const parsed: Parsed[] = [];
  const errors: ProfileError[] = [];
  for (const file of files) {
    const result = await loadProfileFile(file);
    if ('errors' in result) errors.push(...result.errors);
    else parsed.push({ ...result, file });
  }
  const devices = keepFirstOfEachId(parsed, errors);
  const limit = PROFILE_LIMITS.devicesPerAgent;
  // Peers refuse a snapshot or delta of more: the files past the limit are refused, the rest served.
  if (devices.length > limit) {
    const more = devices.length - limit - 1;
    errors.push({
      file: devices[limit].file,
      message: `${devices.length} devices in ${where}; one agent offers at most ${limit}: this file${more ? ` and the ${more} after it are` : ' is'} refused`,
    });
  }
  return { devices: devices.slice(0, limit), errors: sortErrors(errors), files: files.length };
}

/**
 * Two files with one id: the older file keeps it and the newer one is blamed, so that a copy made to
 * start a new profile is the one reported, whatever the names sort as (same age: the later name).
 */
function keepFirstOfEachId(parsed: Parsed[], errors: ProfileError[]): LoadedDevice[] {
  const byAge = [...parsed].sort((a, b) => a.mtimeMs - b.mtimeMs || (a.file < b.file ? -1 : 1));
  const owner = new Map<string, Parsed>();
  for (const p of byAge) {
    const first = owner.get(p.device.id);
    if (!first) {
      owner.set(p.device.id, p);
      continue;
    }
    const at = first.idLocation.line !== undefined ? `${first.file}:${first.idLocation.line}` : first.file;
    errors.push({
      ...p.idLocation,
      file: p.file,
      field: 'id',
      message: `duplicate device id '${p.device.id}' (already defined in ${at}, an older file)`,
    });
  }
  const kept = new Set(owner.values());
  return parsed.filter((p) => kept.has(p)).map((p) => ({ device: p.device, file: p.file }));
}

function sortErrors(errors: ProfileError[]): ProfileError[] {
  return [...errors].sort(
    (a, b) =>
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0),
  );
}

export async function loadProfileFile(
  file: string,
): Promise<(FileResult & { mtimeMs: number }) | { errors: ProfileError[] }> {
  let text: string;
  let mtimeMs: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) return { errors: [{ file, message: 'not a regular file' }] };
    if (info.size > PROFILE_LIMITS.fileBytes) {
      const message = `file is ${info.size} bytes, at most ${PROFILE_LIMITS.fileBytes} are allowed for one profile`;
      return { errors: [{ file, message }] };
    }
    mtimeMs = info.mtimeMs;
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { errors: [{ file, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }] };
  }
  return { ...parseProfileText(text, file), mtimeMs };
}
