import type { Directory } from '../directory/directory.js';
import type { LocalDeviceSet } from '../directory/local-device-set.js';
import type { CheckerLimits } from '../health/checker.js';
import { netProbes, type Probes } from '../health/probes.js';
import type { IncomingMessage } from 'node:http';
import type { HttpProblem } from '../http/problem.js';
import type { HeraldMetrics } from '../metrics/herald-metrics.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { Random } from '../util/random.js';
import { HostDevices } from './host-devices.js';
import { LocalDeviceRoutes, type ApiRoutes } from './local-api.js';
import { registerRegistrationMetrics } from './registration-metrics.js';
import type { RegistrationStore } from './store.js';

/** What an agent's components say about registration and checks. */
export interface RegistrationComponents {
  clock: Clock;
  random: Random;
  logger: Logger;
  /** Where `persist: true` registrations are kept; without it they are refused. */
  registrations?: RegistrationStore;
  /** How health checks reach their targets (real sockets unless a test says otherwise). */
  probes?: Probes;
  checkerLimits?: CheckerLimits;
  authorizeApi?: (req: IncomingMessage) => HttpProblem | undefined;
  /** The API has a bearer token (checked by authorizeApi): its holders may register from anywhere. */
  apiToken?: boolean;
}

/** This host's devices (files and registrations, with their checks) and their metrics, for one agent. */
export function createHostDevices(
  c: RegistrationComponents,
  parts: { local: LocalDeviceSet; metrics: HeraldMetrics; directory: Directory },
  init: { address: string; host: string },
): HostDevices {
  const { lapsed } = registerRegistrationMetrics(parts.metrics.registry, () => devices, parts.directory);
  const devices: HostDevices = new HostDevices(
    { ...c, local: parts.local, probes: c.probes ?? netProbes, store: c.registrations, onLapse: lapsed },
    init,
  );
  return devices;
}

/** The registration routes of the local API; writes need the token when the API has one. */
export function registrationRoutes(
  c: RegistrationComponents,
  devices: HostDevices,
  metrics: HeraldMetrics,
): ApiRoutes[] {
  return [new LocalDeviceRoutes({ devices, metrics, tokenConfigured: c.apiToken === true })];
}
