import { testGroupPort } from './process.js';

/**
 * The arguments of a real agent on loopback bridged to a test broker: its own multicast port (so
 * concurrent runs never mix), an ephemeral API and peer port, Herald datagrams only (no mDNS), JSON logs.
 * Boolean MQTT options are passed bare (`--mqtt-homeassistant`), as a user types them.
 */
export function mqttAgentArgs(opts: {
  name: string;
  site: string;
  url: string;
  profiles: string;
  group?: string;
  extra?: string[];
}): string[] {
  return [
    'agent',
    '--name',
    opts.name,
    '--site',
    opts.site,
    '--group',
    opts.group ?? `239.255.70.70:${testGroupPort()}`,
    '--api',
    '127.0.0.1:0',
    '--peer-port',
    '0',
    '--discovery',
    'multicast',
    '--profiles',
    opts.profiles,
    '--mqtt-url',
    opts.url,
    '--log-format',
    'json',
    ...(opts.extra ?? []),
  ];
}
