import type { Directory } from '../directory/directory.js';
import type { Logger } from '../util/logger.js';
import type { AgentExtension, ForgetOutcome } from './agent-components.js';

/** What forgetting an agent touches: the directory and the extensions that published for it. */
export interface ForgetParts {
  directory: Directory;
  extensions: readonly AgentExtension[];
  logger: Logger;
  /** Cluster sync, once started: its peer goes with the entry (ClusterSync.forget). */
  sync?: { forget(name: string): void };
  /** This agent's own name, which is never forgotten. */
  self: string;
}

/**
 * Retires an agent at once: it leaves the directory, and every extension clears what it published for
 * it (the MQTT bridge its retained topics and Home Assistant entries). An unknown name is still passed
 * on, so that the retained ghosts of a renamed host can be cleared. An alive agent is refused: it
 * would only come back with its next heartbeat.
 */
export function forgetAgent(agent: ForgetParts, name: string): ForgetOutcome {
  const info = agent.directory.agent(name);
  if (info?.local || name === agent.self)
    return { forgotten: false, agent: name, reason: 'local', detail: `'${name}' is this agent itself` };
  if (info?.state === 'alive')
    return {
      forgotten: false,
      agent: name,
      reason: 'alive',
      detail: `agent '${name}' is alive; only a lost or left agent can be forgotten`,
    };
  agent.sync?.forget(name);
  agent.directory.forget(name); // an entry without a peer too (its peer already gone)
  const notes = agent.extensions.flatMap((ext) => ext.forget?.(name) ?? []);
  agent.logger.info({ agent: name, known: info !== undefined }, 'agent forgotten');
  return { forgotten: true, agent: name, known: info !== undefined, ...(notes.length > 0 ? { notes } : {}) };
}
