import type { DeviceRecord, NameLookup } from './records.js';

type BranchChild = Extract<NameLookup, { kind: 'branch' }>['children'][number];

interface Binding {
  agent: string;
  id: string;
  record: DeviceRecord;
}

/**
 * The naming tree: `<agent>/<device>[/<capability>]`, and the cluster-wide names that devices bind
 * (`greenhouse/climate`). When several devices bind one name, every directory picks the same winner
 * (the smallest agent, then device id) and the lookup lists the others: a conflict is shown, not hidden.
 * The index is rebuilt lazily after a change: lookups are rare next to directory updates.
 */
export class NamingIndex {
  private bindings: Map<string, Binding[]> | undefined;

  invalidate(): void {
    this.bindings = undefined;
  }

  lookup(rawPath: string, origins: { name: string; devices: DeviceRecord[] }[]): NameLookup | undefined {
    const path = rawPath.replace(/^\/+|\/+$/g, '');
    const bindings = this.index(origins);

    // A bound global name wins over the agent tree: it is what the user chose to publish.
    const bound = bindings.get(path);
    if (bound) {
      const [winner, ...others] = bound;
      const result: NameLookup = { path, kind: 'device', device: winner.record };
      if (others.length > 0) result.conflict = { candidates: bound.map((b) => ({ agent: b.agent, id: b.id })) };
      return result;
    }

    const segments = path === '' ? [] : path.split('/');
    const agents = new Map(origins.map((o) => [o.name, o]));
    const origin = segments.length >= 1 && segments.length <= 3 ? agents.get(segments[0]) : undefined;
    if (origin) {
      if (segments.length === 1) {
        return {
          path,
          kind: 'branch',
          children: origin.devices.map((d) => ({ name: d.id, kind: 'device' as const })).sort(byName),
        };
      }
      const device = origin.devices.find((d) => d.id === segments[1]);
      if (device) {
        if (segments.length === 2) return { path, kind: 'device', device };
        const capability = device.capabilities.find((c) => c.id === segments[2]);
        if (capability) return { path, kind: 'capability', device, capability };
      }
    }

    // A branch: the next segment of every global name under the path, and agents at the root.
    const prefix = path === '' ? '' : path + '/';
    const children = new Map<string, BranchChild>();
    for (const name of bindings.keys()) {
      if (!name.startsWith(prefix)) continue;
      const rest = name.slice(prefix.length);
      const slash = rest.indexOf('/');
      const child = slash === -1 ? rest : rest.slice(0, slash);
      if (!children.has(child) || slash === -1)
        children.set(child, { name: child, kind: slash === -1 ? 'name' : 'branch' });
    }
    if (path === '')
      for (const name of agents.keys()) if (!children.has(name)) children.set(name, { name, kind: 'agent' });
    if (children.size === 0) return undefined;
    return { path, kind: 'branch', children: [...children.values()].sort(byName) };
  }

  private index(origins: { name: string; devices: DeviceRecord[] }[]): Map<string, Binding[]> {
    if (this.bindings) return this.bindings;
    const map = new Map<string, Binding[]>();
    for (const origin of origins) {
      for (const record of origin.devices) {
        for (const name of record.names) {
          const list = map.get(name) ?? [];
          list.push({ agent: origin.name, id: record.id, record });
          map.set(name, list);
        }
      }
    }
    for (const list of map.values())
      list.sort((a, b) => (a.agent === b.agent ? cmp(a.id, b.id) : cmp(a.agent, b.agent)));
    this.bindings = map;
    return map;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byName(a: { name: string }, b: { name: string }): number {
  return cmp(a.name, b.name);
}
