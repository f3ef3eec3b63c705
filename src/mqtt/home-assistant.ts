import type { DeviceRecord } from '../directory/records.js';
import type { Topics } from './topics.js';

/**
 * Home Assistant MQTT device-based discovery (`homeassistant/device/<id>/config`, HA 2024.11+).
 *
 * Herald knows where a capability can be reached, not its readings, so it exports only what maps
 * cleanly: each device's connectivity (a binary_sensor, on while its agent is online) and each
 * capability endpoint (a diagnostic sensor whose state is the URL). Both read the topics Herald
 * already publishes; nothing invents a value Herald does not have.
 */
export const HA_PREFIX = 'homeassistant';

export function haObjectId(site: string, agent: string, device: string): string {
  return `herald_${site}_${agent}_${device}`.replace(/[^a-zA-Z0-9_-]/g, '_');
}

export function haConfigTopic(site: string, agent: string, device: string): string {
  return `${HA_PREFIX}/device/${haObjectId(site, agent, device)}/config`;
}

export function haConfigPayload(record: DeviceRecord, topics: Topics, version: string): string {
  const id = haObjectId(record.site, record.agent, record.id);
  const components: Record<string, Record<string, unknown>> = {
    online: {
      p: 'binary_sensor',
      unique_id: `${id}_online`,
      name: 'Reachable',
      device_class: 'connectivity',
      state_topic: topics.agent(record.agent, record.site),
      value_template: "{{ 'ON' if value_json.state == 'online' else 'OFF' }}",
    },
  };
  for (const cap of record.capabilities) {
    if (!cap.endpoint) continue;
    components[`endpoint_${cap.id}`.replace(/[^a-zA-Z0-9_]/g, '_')] = {
      p: 'sensor',
      unique_id: `${id}_endpoint_${cap.id}`.replace(/[^a-zA-Z0-9_-]/g, '_'),
      name: `${cap.id} endpoint`,
      entity_category: 'diagnostic',
      icon: 'mdi:link-variant',
      state_topic: topics.device(record.agent, record.id, record.site),
      value_template: `{{ (value_json.capabilities | selectattr('id', 'eq', '${cap.id}') | first).endpoint }}`,
    };
  }
  const device: Record<string, unknown> = { ids: [id], name: record.name };
  if (record.manufacturer) device.mf = record.manufacturer;
  if (record.model) device.mdl = record.model;
  if (record.location) device.sa = record.location;
  return JSON.stringify({
    dev: device,
    o: { name: 'herald', sw: version },
    cmps: components,
    availability: [
      {
        topic: topics.agent(record.agent, record.site),
        value_template: '{{ value_json.state }}',
        payload_available: 'online',
        payload_not_available: 'offline',
      },
    ],
    qos: 1,
  });
}
