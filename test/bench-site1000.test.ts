import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Site1000Results } from '../bench/footprint-1000.js';
import { site1000Section, site1000Targets } from '../bench/footprint-1000-report.js';
import type { BenchRun } from '../bench/run.js';
import { judge } from '../bench/targets.js';

// The footprint-1000 step's figures in the report: issue 18's two targets, judged on MB, not MiB, and only
// with the directory complete.

function runWith(site1000?: Partial<Site1000Results>): BenchRun {
  const listed = { agents: 1000, alive: 1000, devices: 10_000 };
  const full =
    site1000 &&
    ({ listed, peakRssMiB: 150, floorCpuPercent: 0.1, emulatorCpuPercent: 0.9, ...site1000 } as Site1000Results);
  return { service: { skipped: [], site1000: full } } as unknown as BenchRun;
}

test('RSS is judged in MB (76 MiB is 79.7 MB: met; 77 MiB is 80.7 MB: not), and only with every device held', () => {
  const [rss, cpu] = site1000Targets;
  assert.is(judge(rss, runWith()).met, 'not measured');
  assert.is(judge(rss, runWith({ rssMiB: 76 })).met, 'met');
  assert.is(judge(rss, runWith({ rssMiB: 77 })).met, 'NOT met');
  const incomplete = runWith({ rssMiB: 60, listed: { agents: 1000, alive: 1000, devices: 9_990 } });
  assert.is(judge(rss, incomplete).met, 'NOT met');
  assert.is(judge(cpu, runWith({ idleCpuPercent: 1.2 })).met, 'NOT met');
  assert.is(judge(cpu, runWith({ idleCpuPercent: 0.9 })).met, 'met');
});

test('no section without the step', () => {
  assert.is(site1000Section(runWith()), '');
});

test.run();
