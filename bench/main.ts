import { mkdir, writeFile } from 'node:fs/promises';
import { keyedCpuRatio, keyedCpuSpread, pairRatios } from './figures.js';
import { benchOptions, benchPlan } from './plan.js';
import { writeDocs, writeResults } from './report/files.js';
import { markdownReport } from './report/markdown.js';
import { runPlot } from './report/plot.js';
import { runBench } from './run.js';
import { judgeTargets } from './targets.js';

/**
 * npm run bench [-- --quick] [-- --docs] [-- --mqtt-outage-seconds N] [-- --only scale|footprint|footprint-1000|auth]
 * Herald and the designs a user would otherwise deploy, on the same machine, in the same run, on the
 * same scenarios. Figures are compared as ratios to Herald, measured in this run.
 */
const options = benchOptions(process.argv.slice(2));
const run = await runBench(options, benchPlan(options.quick, options.scaleSizes, options.scaleKnobs));
if (options.only) {
  // One step's figures: the report and latest.json stay those of the last whole run.
  const figures =
    options.only === 'scale'
      ? { scale: run.results.scale, catchUpCost: run.results.catchUpCost }
      : options.only === 'footprint'
        ? { footprint: run.service.memory }
        : options.only === 'auth'
          ? {
              authCost: run.results.authCost,
              keyedCpuRatio: keyedCpuRatio(run.results),
              pairRatios: pairRatios(run.results),
              spread: keyedCpuSpread(run.results),
            }
          : { 'footprint-1000': run.service.site1000 };
  const json = JSON.stringify({ machine: run.machine, ...figures }, null, 2);
  process.stdout.write(json + '\n');
  await mkdir('bench-results', { recursive: true });
  await writeFile(`bench-results/only-${options.only}.json`, json);
} else {
  const targets = judgeTargets(run);
  const report = markdownReport(run, targets);
  process.stdout.write('\n' + report + '\n');
  const svg = runPlot(run);
  await writeResults(run, targets, svg);
  if (options.writeDocs) await writeDocs(run, targets, report, svg);
}
