import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

/**
 * A CPU profile of one child process over the change phases only (HERALD_SCALE_PHASE_PROF=dir): the
 * whole-run --cpu-prof (HERALD_SCALE_CPU_PROF) is nearly all cold start, while a change's p99 at 200 agents is
 * made in the ~1 s of each change phase. Started with the children's change timings, written when they stop,
 * one file a phase and child (`change-<pid>-<n>.cpuprofile`, for Chrome's DevTools or a script).
 */
export class PhaseProfile {
  private session: Session | undefined;
  private phases = 0;

  /** `dir`: where the profiles go; undefined: nothing is profiled. `intervalUs`: the sampling period. */
  constructor(
    private readonly dir: string | undefined,
    private readonly intervalUs = 200,
  ) {}

  async start(): Promise<void> {
    if (!this.dir || this.session) return;
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: this.intervalUs });
    await session.post('Profiler.start');
    this.session = session;
  }

  async stop(): Promise<void> {
    const session = this.session;
    if (!session || !this.dir) return;
    this.session = undefined;
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    this.phases += 1;
    await writeFile(join(this.dir, `change-${process.pid}-${this.phases}.cpuprofile`), JSON.stringify(profile));
  }
}
