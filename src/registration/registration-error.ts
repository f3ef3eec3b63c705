import { HealthChecker } from '../health/checker.js';
import { PROFILE_LIMITS, type Device } from '../profiles/model.js';

/** Why a registration request was refused; the API maps each code to a status, never on message text. */
export type RegistrationErrorCode =
  | 'file-clash'
  | 'not-registered'
  | 'from-file'
  | 'too-many-devices'
  | 'too-many-checks'
  | 'no-ttl'
  | 'no-state-dir'
  | 'no-ttl-check'
  | 'ambiguous-check'
  | 'duplicate-id';

const STATUS: Record<RegistrationErrorCode, number> = {
  'file-clash': 409,
  'not-registered': 404,
  'from-file': 409,
  'too-many-devices': 409,
  'too-many-checks': 409,
  'no-ttl': 409,
  'no-state-dir': 409,
  'no-ttl-check': 409,
  'ambiguous-check': 409,
  'duplicate-id': 400,
};

export class RegistrationError extends Error {
  readonly status: number;

  constructor(
    readonly code: RegistrationErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RegistrationError';
    this.status = STATUS[code];
  }
}

/** Throws when `devices` would be more than one host offers, or need more checks than it runs. */
export function checkHostLimits(devices: Device[], maxChecks: number): void {
  if (devices.length > PROFILE_LIMITS.devicesPerAgent)
    throw new RegistrationError(
      'too-many-devices',
      `this would make ${devices.length} devices on this host; one agent offers at most ${PROFILE_LIMITS.devicesPerAgent}`,
    );
  const checks = HealthChecker.count(devices);
  if (checks > maxChecks)
    throw new RegistrationError(
      'too-many-checks',
      `this would make ${checks} checks on this host; at most ${maxChecks} run on one host`,
    );
}
