import { trimOutput, type CheckSpec, type HealthState } from '../profiles/checks.js';

/**
 * One check's state under Consul's thresholds: `successBeforePassing` consecutive passes make it
 * passing, `failuresBeforeCritical` consecutive failures (or warnings) make it critical (or warning).
 * The output shown is the one of the result that set the state, so that a check whose text changes on
 * every run (a latency) does not make a new version each time.
 */
export class CheckState {
  status: HealthState = 'critical';
  output: string;
  private successes = 0;
  private failures = 0;

  constructor(
    readonly spec: CheckSpec,
    initialOutput = 'not checked yet',
  ) {
    this.output = initialOutput;
  }

  /** Records one result; returns true when the state (not just the output) changed. */
  record(result: HealthState, output: string): boolean {
    let next: HealthState | undefined;
    if (result === 'passing') {
      this.failures = 0;
      this.successes++;
      if (this.successes >= this.spec.successBeforePassing) next = 'passing';
    } else {
      this.successes = 0;
      this.failures++;
      if (this.failures >= this.spec.failuresBeforeCritical) next = result;
    }
    if (next === undefined || next === this.status) return false;
    this.status = next;
    this.output = trimOutput(output);
    return true;
  }
}
