import type { Directory } from '../directory/directory.js';
import type { AgentInfo } from '../directory/records.js';
import { haAgentConfig, haConfigTopic, haDeviceConfig, haObjectId, type HaContext } from './home-assistant.js';
import { agentPayload, devicePayload, type Topics } from './topics.js';

/** Which agents a publisher speaks for, and how. */
export interface PublicationScope {
  mode: 'agent' | 'gateway';
  /** This agent's name: in agent mode the only one published. */
  self: string;
  topics: Topics;
  /** Home Assistant discovery, when enabled. */
  ha?: HaContext;
  /** A lost agent's retained state is cleared after this long without news. */
  retireAfterMs: number;
  /** This agent's local API, where others reach it (Home Assistant links its device to it). */
  configurationUrl?: string;
}

/** Whether `name` is an agent this publisher speaks for at all (whatever its state). */
export function inScope(scope: PublicationScope, info: Pick<AgentInfo, 'name' | 'site' | 'remote'>): boolean {
  if (info.remote || info.site !== scope.topics.site) return false;
  return scope.mode === 'gateway' || info.name === scope.self;
}

/**
 * What the broker should retain for one agent in this publisher's view: its state, its devices and
 * their Home Assistant entries, together, so that discovery goes exactly when the record goes. Empty
 * when the agent is out of scope, not heard from yet (no real incarnation and version to state), left,
 * or lost for longer than the retirement time. A lost agent keeps its records, stated offline: its
 * connectivity sensor reads OFF while its devices are still known.
 */
export function agentTopics(
  directory: Directory,
  scope: PublicationScope,
  name: string,
  now: number,
): Map<string, string> {
  const out = new Map<string, string>();
  const info = directory.agent(name);
  if (!info || !inScope(scope, info)) return out;
  if (info.version === 0 && !info.local) return out;
  if (info.state === 'left' && !info.local) return out;
  if (info.state === 'lost' && now - Date.parse(info.lastSeen) > scope.retireAfterMs) return out;
  const t = scope.topics;
  out.set(t.agent(name), agentPayload(info, info.state === 'alive' ? 'online' : 'offline'));
  if (scope.ha)
    out.set(
      haConfigTopic(haObjectId(t.base, info.site, name)),
      haAgentConfig(info, scope.ha, name === scope.self ? scope.configurationUrl : undefined),
    );
  for (const record of directory.devices({ agent: name, includeLost: true })) {
    out.set(t.device(name, record.id), devicePayload(record));
    if (scope.ha)
      out.set(haConfigTopic(haObjectId(t.base, record.site, name, record.id)), haDeviceConfig(record, scope.ha));
  }
  return out;
}
