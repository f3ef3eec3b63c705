import type { AgentInfo, DeviceRecord } from '../directory/records.js';
import type { Topics } from './topics.js';

/**
 * Home Assistant MQTT device-based discovery (`homeassistant/device/<id>/config`, HA 2024.11+).
 *
 * One HA device per agent (the host), with a connectivity binary_sensor that reads ON/OFF from the
 * agent's retained state; each Herald device is its own HA device linked to its host by `via_device`,
 * with one diagnostic sensor per capability endpoint (the URL) and one naming its capabilities.
 * Availability follows the *publisher's* connection, never the agent's state, so a lost agent reads
 * OFF instead of unavailable. Herald knows where a capability is reached, not its readings: nothing
 * invents a value Herald does not have.
 */
export const HA_PREFIX = 'homeassistant';
export const SUPPORT_URL = 'https://github.com/herald-discovery/herald/blob/main/docs/mqtt.md';

/**
 * Discovery ids carry base, site, agent and device, so two bases, two gateways or two sites never touch
 * each other's entries. Each part is escaped (`_` and anything outside [a-zA-Z0-9-] become `_hh` per UTF-8 byte) and
 * parts are joined by `__`, which an escaped part never contains: distinct tuples never share an id.
 */
export function haObjectId(base: string, site: string, agent: string, device?: string): string {
  const parts = device === undefined ? [base, site, agent] : [base, site, agent, device];
  return ['herald', ...parts.map(escapePart)].join('__');
}

/** The id prefix of every entry a publisher of `base`/`site` owns (of one agent when given). */
export function haObjectPrefix(base: string, site: string, agent?: string): string {
  return ['herald', escapePart(base), escapePart(site), ...(agent === undefined ? [] : [escapePart(agent)]), ''].join(
    '__',
  );
}

function escapePart(part: string): string {
  // Each UTF-8 byte of a character outside [a-zA-Z0-9-] becomes `_hh`: decodable, hence never ambiguous.
  return part.replace(/[^a-zA-Z0-9-]/gu, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => `_${b.toString(16).padStart(2, '0')}`).join(''),
  );
}

export function haConfigTopic(objectId: string): string {
  return `${HA_PREFIX}/device/${objectId}/config`;
}

/** The object id of a discovery config topic, or undefined when the topic is not one. */
export function haObjectIdOf(topic: string): string | undefined {
  const m = /^homeassistant\/device\/([^/]+)\/config$/.exec(topic);
  return m?.[1];
}

/** Where a publisher's connection is told: the availability topic of every entry it publishes. */
export interface Availability {
  topic: string;
  /** Reads `online`/`offline` from the topic's JSON payload. */
  template: string;
}

export interface HaContext {
  topics: Topics;
  availability: Availability;
  version: string;
}

function common(ha: HaContext): Record<string, unknown> {
  return {
    o: { name: 'herald', sw: ha.version, url: SUPPORT_URL },
    avty: [
      {
        t: ha.availability.topic,
        val_tpl: ha.availability.template,
        pl_avail: 'online',
        pl_not_avail: 'offline',
      },
    ],
    qos: 1,
  };
}

/** The agent (host) as an HA device, with its connectivity sensor. */
export function haAgentConfig(agent: AgentInfo, ha: HaContext, configurationUrl?: string): string {
  const id = haObjectId(ha.topics.base, agent.site, agent.name);
  const dev: Record<string, unknown> = { ids: [id], name: agent.name, mdl: 'Herald agent', sw: ha.version };
  if (configurationUrl) dev.cu = configurationUrl;
  return JSON.stringify({
    dev,
    ...common(ha),
    cmps: {
      connectivity: {
        p: 'binary_sensor',
        uniq_id: `${id}__connectivity`,
        name: 'Connectivity',
        dev_cla: 'connectivity',
        stat_t: ha.topics.agent(agent.name, agent.site),
        val_tpl: "{{ 'ON' if value_json.state == 'online' else 'OFF' }}",
        pl_on: 'ON',
        pl_off: 'OFF',
      },
    },
  });
}

/** A Herald device as an HA device under its agent. */
export function haDeviceConfig(record: DeviceRecord, ha: HaContext): string {
  const id = haObjectId(ha.topics.base, record.site, record.agent, record.id);
  const stateTopic = ha.topics.device(record.agent, record.id, record.site);
  const components: Record<string, Record<string, unknown>> = {
    capabilities: {
      p: 'sensor',
      uniq_id: `${id}__capabilities`,
      name: 'Capabilities',
      ent_cat: 'diagnostic',
      icon: 'mdi:format-list-bulleted',
      stat_t: stateTopic,
      val_tpl: "{{ value_json.capabilities | map(attribute='id') | join(', ') }}",
    },
  };
  for (const cap of record.capabilities) {
    if (!cap.endpoint) continue;
    const key = `endpoint_${cap.id}`.replace(/[^a-zA-Z0-9_]/g, '_');
    components[key] = {
      p: 'sensor',
      uniq_id: `${id}__${key}`,
      name: `${cap.id} endpoint`,
      ent_cat: 'diagnostic',
      icon: 'mdi:link-variant',
      stat_t: stateTopic,
      val_tpl: `{{ (value_json.capabilities | selectattr('id', 'eq', '${cap.id}') | first).endpoint }}`,
    };
  }
  const dev: Record<string, unknown> = {
    ids: [id],
    name: record.name,
    via_device: haObjectId(ha.topics.base, record.site, record.agent),
  };
  if (record.manufacturer) dev.mf = record.manufacturer;
  if (record.model) dev.mdl = record.model;
  if (record.location) dev.sa = record.location;
  return JSON.stringify({ dev, ...common(ha), cmps: components });
}
