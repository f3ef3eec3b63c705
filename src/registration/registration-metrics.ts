import type { Directory } from '../directory/directory.js';
import type { MetricsRegistry } from '../metrics/registry.js';
import { HEALTH_STATES } from '../profiles/checks.js';
import type { HostDevices } from './host-devices.js';

/** Registration and health figures: counts by source and state, never device ids (unbounded labels). */
export function registerRegistrationMetrics(
  r: MetricsRegistry,
  devices: () => HostDevices,
  directory: Directory,
): { lapsed: (n: number) => void } {
  r.gauge('herald_local_devices', "This host's own devices, by where they come from (file, registration).", () => {
    const c = devices().counts();
    return [
      [{ source: 'file' }, c.files],
      [{ source: 'registration' }, c.registrations],
    ];
  });
  r.gauge('herald_health_checks', "This host's checks, by state.", () =>
    HEALTH_STATES.map((state) => [{ state }, devices().counts().checks[state]]),
  );
  r.gauge('herald_device_health', 'Devices of alive agents that carry a health state, by that state.', () => {
    const counts = { passing: 0, warning: 0, critical: 0 };
    for (const d of directory.devices()) if (d.health) counts[d.health.status]++;
    return HEALTH_STATES.map((state) => [{ state }, counts[state]]);
  });
  const lapses = r.counter('herald_registration_lapses_total', 'Registrations withdrawn because their TTL passed.');
  return { lapsed: (n) => lapses.inc({}, n) };
}
