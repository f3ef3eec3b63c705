import type { Site1000Results } from './footprint-1000.js';
import { fmt, fmtMs, table } from './report/format.js';
import type { BenchRun } from './run.js';
import type { Target } from './targets.js';

/** The footprint-1000 step in the report: its table, and issue 18's two targets it measures. */

const MB_PER_MIB = 1.048576;

function asked(a: { hellos: number; summaries: number; changes: number }): string {
  return `${a.hellos} probes (${a.summaries} with the summary), ${a.changes} catch-ups`;
}

export function site1000Table(r: Site1000Results): string {
  const i = r.idle;
  return (
    table(
      ['', 'measured'],
      [
        ['RSS, settled (median over the idle window)', `${fmt(r.rssMiB, 1)} MiB = ${fmt(r.rssMiB * MB_PER_MIB, 1)} MB`],
        ['RSS, peak (join and probes included)', `${fmt(r.peakRssMiB, 1)} MiB`],
        ['live heap at the end', `${fmt(r.heapUsedMiB, 1)} MiB`],
        [
          '  of it anonymous (V8 heap, malloc) / file pages (node binary), medians',
          `${fmt(r.anonymousMiB, 1)} / ${fmt(r.fileMiB, 1)} MiB`,
        ],
        [
          '  RSS in the first and last second of the window',
          r.rssFirstLastMiB.map((v) => fmt(v, 1)).join(' / ') + ' MiB',
        ],
        [`idle CPU over ${r.idleSeconds} s, % of a core (utime + stime)`, fmt(r.idleCpuPercent, 2)],
        ['  a bare Node process receiving the same multicast', fmt(r.floorCpuPercent, 2)],
        ['  the emulator of the 999 others (not the bottleneck if low)', fmt(r.emulatorCpuPercent, 2)],
        ['agent start to API listing every agent alive and every device', fmtMs(r.syncMs)],
        ['  the API listed', `${r.listed.alive} alive of ${r.listed.agents} agents, ${r.listed.devices} devices`],
        ['  asked of the site meanwhile', asked(r.sync)],
        ['then until no probe for 10 s', fmtMs(r.settleMs)],
        ['  asked of the site meanwhile', asked(r.settle)],
        [
          '  RSS then, and the time until it settled (5 minutes old, 20 s within 1 MiB)',
          `${fmt(r.quietRssMiB, 1)} MiB, ${fmtMs(r.steadyMs)}`,
        ],
        [
          'idle: datagram payload sent / received by the agent',
          `${fmt(i.sentBytesPerSecond, 0)} / ${fmt(i.receivedBytesPerSecond, 0)} B/s`,
        ],
        [
          `  over the ${fmt(r.settledSeconds, 0)} s since the probes quietened: sent / received`,
          `${fmt(r.settledTraffic.sentBytesPerSecond, 0)} / ${fmt(r.settledTraffic.receivedBytesPerSecond, 0)} B/s`,
        ],
        [
          '  multicast / unicast received',
          `${fmt(i.byKind.received.multicast ?? 0, 0)} / ${fmt(i.byKind.received.unicast ?? 0, 0)} B/s`,
        ],
        [
          "  the site's multicast heartbeats / its unicast to the agent / the agent's own multicast (heard back)",
          [i.bytes.siteMulticast, i.bytes.unicastToAgent, i.bytes.agentMulticast].map((v) => fmt(v, 0)).join(' / ') +
            ' B/s',
        ],
        [
          'idle: site multicast heartbeats',
          `${fmt(i.siteMulticastPerSecond, 1)}/s (mean interval ${fmtMs(r.meanIntervalMs)})`,
        ],
        [
          'idle: beats (the keyed unicast heartbeats) to / from the agent',
          `${fmt(i.unicastToAgentPerSecond, 2)} / ${fmt(i.unicastFromAgentPerSecond, 2)} per s`,
        ],
        ['idle: asked of the site', asked(i)],
        ['agents alive at the end', String(r.aliveAfter)],
        ["the agent's multicasts over the run (a notice is a false loss)", JSON.stringify(r.measuredMulticasts)],
      ],
    ) +
    `\n\nOne agent (compiled, the unit's Node flags ${r.flags.join(' ')}, \`--interface lo\`, ${r.devicesPerAgent} ` +
    `devices) in a keyed site of ${r.agents}: the other ${r.agents - 1} are emulated in one process ` +
    "(bench/scale/site-emulator.ts) with Herald's own encoders and peer endpoint, each at its own 127.0.x.y " +
    'address: heartbeats at the scaled interval, unicast heartbeats from the subjects the agent monitors, ' +
    'answers to probes, summaries and catch-ups. Requests refused by the emulated endpoints: ' +
    `${JSON.stringify(r.refused)}.`
  );
}

export function site1000Section({ service: { site1000 } }: BenchRun): string {
  if (!site1000) return '';
  const size = `${site1000.agents} agents × ${site1000.devicesPerAgent} devices`;
  const title = `One agent in a site of ${size} (the others emulated)`;
  return `### ${title}\n\n${site1000Table(site1000)}\n`;
}

export const site1000Targets: Target[] = [
  {
    name: "issue 18: RSS ≤ 80 MB at 1,000 agents × 10 devices (one real agent, the unit's Node flags)",
    figure: (run) => run.service.site1000?.rssMiB,
    threshold: 80,
    judged: (v, t, run) => v * MB_PER_MIB <= t && run.service.site1000!.listed.devices === 10_000,
    show: (v, run) => {
      const r = run.service.site1000!;
      const peak = fmt(r.peakRssMiB * MB_PER_MIB, 1);
      return `${fmt(v * MB_PER_MIB, 1)} MB settled (peak ${peak} MB), ${r.listed.devices} devices held`;
    },
  },
  {
    name: 'issue 18: idle CPU ≤ 1 % of a core at 1,000 agents × 10 devices',
    figure: (run) => run.service.site1000?.idleCpuPercent,
    threshold: 1,
    judged: (v, t) => v <= t,
    show: (v, run) => {
      const r = run.service.site1000!;
      const beside = `emulator: ${fmt(r.emulatorCpuPercent, 2)} %`;
      return `${fmt(v, 2)} % (bare Node receiving the same multicast: ${fmt(r.floorCpuPercent, 2)} %; ${beside})`;
    },
  },
];
