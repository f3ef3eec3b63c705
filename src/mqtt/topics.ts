import type { AgentInfo, DeviceRecord, DirectoryEvent } from '../directory/records.js';

/**
 * The topic layout under `<base>/<site>/`:
 *   agents/<agent>           retained {state, incarnation, version, address}; the last will says offline
 *   devices/<agent>/<device> retained device record; an empty retained payload clears it
 *   events                   change events, not retained
 *   bridge/state/<publisher>   retained {state}: a gateway's connection (its last will says offline)
 *   bridge/info/<publisher>    retained: version, config summary, agents and devices held
 *   bridge/devices/<publisher> retained: the site's directory as one list
 *   bridge/request/<command>   requests {transaction, ...}, answered on bridge/response/<command>
 * docs/mqtt.md describes each payload; docs/mqtt.schema.json is their JSON Schema.
 */
export class Topics {
  constructor(
    readonly base: string,
    readonly site: string,
  ) {}

  agent(agent: string, site = this.site): string {
    return `${this.base}/${site}/agents/${agent}`;
  }

  device(agent: string, device: string, site = this.site): string {
    return `${this.base}/${site}/devices/${agent}/${device}`;
  }

  /** `agent` may be `+`: every agent's devices. */
  devicesOf(agent: string, site = this.site): string {
    return `${this.base}/${site}/devices/${agent}/+`;
  }

  agents(site = this.site): string {
    return `${this.base}/${site}/agents/+`;
  }

  events(site = this.site): string {
    return `${this.base}/${site}/events`;
  }

  bridge(kind: 'state' | 'info' | 'devices', publisher: string): string {
    return `${this.base}/${this.site}/bridge/${kind}/${publisher}`;
  }

  requests(): string {
    return `${this.base}/${this.site}/bridge/request/+`;
  }

  response(command: string): string {
    return `${this.base}/${this.site}/bridge/response/${command}`;
  }

  /** The command of a request topic of this site, or undefined. */
  requestCommand(topic: string): string | undefined {
    const prefix = `${this.base}/${this.site}/bridge/request/`;
    if (!topic.startsWith(prefix)) return undefined;
    const command = topic.slice(prefix.length);
    return command && !command.includes('/') ? command : undefined;
  }

  /** Parses a topic of this layout: which site, and an agent (and device) topic. */
  parse(
    topic: string,
  ):
    | { site: string; kind: 'agent'; agent: string }
    | { site: string; kind: 'device'; agent: string; device: string }
    | undefined {
    const prefix = `${this.base}/`;
    if (!topic.startsWith(prefix)) return undefined;
    const parts = topic.slice(prefix.length).split('/');
    if (parts.length === 3 && parts[1] === 'agents') return { site: parts[0], kind: 'agent', agent: parts[2] };
    if (parts.length === 4 && parts[1] === 'devices')
      return { site: parts[0], kind: 'device', agent: parts[2], device: parts[3] };
    return undefined;
  }
}

export interface AgentStatePayload {
  state: 'online' | 'offline';
  incarnation: number;
  version: number;
  address?: string;
}

export function agentPayload(
  info: Pick<AgentInfo, 'incarnation' | 'version' | 'address'>,
  state: 'online' | 'offline',
): string {
  const p: AgentStatePayload = { state, incarnation: info.incarnation, version: info.version };
  if (info.address) p.address = info.address;
  return JSON.stringify(p);
}

export function devicePayload(record: DeviceRecord): string {
  return JSON.stringify(record);
}

export function eventPayload(e: DirectoryEvent, site: string, at: string): string {
  const base = { type: e.type, agent: e.agent, site, at };
  if ('id' in e) return JSON.stringify({ ...base, id: e.id });
  if ('device' in e) return JSON.stringify({ ...base, id: e.device.id, device: e.device });
  return JSON.stringify({ ...base, state: e.info.state });
}
