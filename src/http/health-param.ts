import { HEALTH_STATES, type HealthState } from '../profiles/checks.js';
import { HttpProblem } from './problem.js';

/** The `health` query parameter of device listings: a state name, or a 400 naming the allowed ones. */
export function parseHealthParam(value: string | undefined): HealthState | undefined {
  if (value === undefined) return undefined;
  if (!(HEALTH_STATES as readonly string[]).includes(value))
    throw new HttpProblem(
      400,
      'Bad request',
      `health must be one of ${HEALTH_STATES.join(', ')}; got '${value.slice(0, 40)}'`,
      'bad-parameter',
    );
  return value as HealthState;
}
