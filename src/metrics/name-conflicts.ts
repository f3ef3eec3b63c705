import type { Directory } from '../directory/directory.js';

/**
 * Names bound more than once, for the herald_name_conflicts gauge: an agent name claimed by several
 * hosts (shown in /v1/agents as `conflict`), and a global device name declared by several devices
 * (resolved the same way on every host, listed in /v1/names). Counted at scrape time: one pass over
 * the alive devices' names.
 */
export function nameConflicts(directory: Directory): [Record<string, string>, number][] {
  const agents = directory.agents().filter((a) => a.conflict !== undefined).length;
  const bound = new Map<string, number>();
  for (const device of directory.devices())
    for (const name of device.names) bound.set(name, (bound.get(name) ?? 0) + 1);
  const names = [...bound.values()].filter((n) => n > 1).length;
  return [
    [{ kind: 'agent' }, agents],
    [{ kind: 'global-name' }, names],
  ];
}
