/**
 * The Node flags the scale step's children run with (gc16). A child hosts 50 agents, each holding the whole
 * site's directory: a heap of ~300 MB at 200 agents, where one agent's is a few MB. A change reaches a child
 * as 50 copies of one datagram, and each copy's handling allocates (the decoded message, the device's records,
 * the journal's event): the young generation fills many times a phase, and each scavenge stops all 50 agents.
 * A larger semi-space means fewer scavenges and fewer short-lived objects promoted to the old generation
 * (whose mark-compacts are the long pauses). This is the harness's setting only, for a child of 50 agents: a
 * deployed agent runs with the unit's flags (systemd/, test/helpers/process.ts), whose RSS goal is 80 MB.
 * docs/benchmarks.md, "gc16", has the measurements behind the value.
 */
export const CHILD_SEMI_SPACE_MB = 64;

/**
 * The children's flags: `HERALD_SCALE_CHILD_FLAGS` (space-separated, empty for none) replaces the default, to
 * measure another setting without a rebuild; the parent's own execArgv (a --cpu-prof, a loader) comes first.
 */
export function scaleChildFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  const set = env.HERALD_SCALE_CHILD_FLAGS;
  if (set !== undefined) return set.split(/\s+/).filter((f) => f.length > 0);
  // The minimum too: the maximum alone only lets V8 grow the young generation, and three of the four children
  // of the 6e9d3cf bench ended the change phase at 4-8 MiB (idle17).
  return [`--max-semi-space-size=${CHILD_SEMI_SPACE_MB}`, `--min-semi-space-size=${CHILD_SEMI_SPACE_MB}`];
}
