import { MetricsRegistry, type Counter, type Histogram } from './registry.js';

/**
 * Every figure the agent exposes at /metrics. Names start with herald_, counters end in _total,
 * durations in _seconds; labels carry reasons and kinds, never device ids (unbounded cardinality).
 */
export interface HeraldMetrics {
  registry: MetricsRegistry;
  announcementsSent: Counter; // labels: type
  announcementsReceived: Counter; // labels: type
  announcementsIgnored: Counter; // labels: reason
  datagramsSent: Counter; // labels: kind (multicast, unicast)
  datagramBytesSent: Counter; // labels: kind (multicast, unicast)
  datagramBytesReceived: Counter; // labels: kind (multicast, unicast)
  decodeErrors: Counter; // labels: reason
  hintsIgnored: Counter; // labels: reason (unknown-origin, other-life, left)
  gapsDetected: Counter; // labels: signal
  catchupRequests: Counter; // labels: result
  catchupSeconds: Histogram;
  bulkAsks: Counter; // labels: result (asked, or why not)
  bulkHeld: Counter; // labels: released (answer, hold)
  firstCopies: Counter; // labels: path, within
  snapshotFallbacks: Counter;
  peerRequestsServed: Counter; // labels: route, status
  profileErrors: Counter;
  profileReloads: Counter; // labels: result
  apiRequests: Counter; // labels: route, status
  invalidInput: Counter; // labels: source, reason
  livenessProbes: Counter; // labels: result
  endpointProofs: Counter;
  peerRequestFailures: Counter; // labels: route (changes, hello), reason
  /** What herald_local_health reads at scrape time; the agent's liveness sets it (several agents per process). */
  localHealth: { read: () => number };
  livenessSweepVisits: Counter;
  livenessChecks: Counter; // labels: rule (why the sweep or the view exchange asked a peer)
  livenessCheckSilence: Counter; // labels: rule; seconds of the peer's silence when asked, summed
  // labels: why (cut-off, unreachable-heard, late-heard, held-back, second-opinion, join; digest, join-digest)
  viewExchanges: Counter;
  lostNotices: Counter; // labels: result
  provisionalLives: Counter; // labels: result
  announceChallenges: Counter; // labels: result
  mdnsHints: Counter; // labels: result
  mdnsConflicts: Counter; // labels: kind
  bugs: Counter; // labels: where
}

export function createHeraldMetrics(): HeraldMetrics {
  const r = new MetricsRegistry();
  // Process figures, under herald_ like everything else (several agents in one process share them).
  r.gauge('herald_process_resident_memory_bytes', 'Resident memory of the process.', () => process.memoryUsage.rss());
  r.gauge('herald_process_heap_used_bytes', 'V8 heap in use.', () => process.memoryUsage().heapUsed);
  // CPU time is prom-client's process_cpu_seconds_total (process-metrics.ts), a counter as it should be.
  return {
    registry: r,
    ...datagramMetrics(r),
    ...repairMetrics(r),
    ...bulkMetrics(r),
    ...checkMetrics(r),
    ...hostMetrics(r),
    localHealth: localHealthGauge(r),
  };
}

/** Multicast announcements: what was sent, heard, ignored and dropped. */
function datagramMetrics(r: MetricsRegistry) {
  return {
    announcementsSent: r.counter(
      'herald_announcements_sent_total',
      'Datagrams sent, by message type (relay: a lost notice unicast to ring neighbours).',
      ['type'],
    ),
    announcementsReceived: r.counter(
      'herald_announcements_received_total',
      'Valid datagrams received from peers, by message type.',
      ['type'],
    ),
    announcementsIgnored: r.counter(
      'herald_announcements_ignored_total',
      'Datagrams that carried nothing new (already held, own echo, other site).',
      ['reason'],
    ),
    datagramsSent: r.counter(
      'herald_datagrams_sent_total',
      'Datagrams sent, by kind: with the bytes, what they cost on the wire (28 bytes of UDP/IPv4 headers each).',
      ['kind'],
    ),
    datagramBytesSent: r.counter(
      'herald_datagram_bytes_sent_total',
      'UDP payload bytes sent, by kind (multicast to the site, unicast to one agent).',
      ['kind'],
    ),
    datagramBytesReceived: r.counter(
      'herald_datagram_bytes_received_total',
      'UDP payload bytes received, by kind (multicast to the site, unicast to this agent).',
      ['kind'],
    ),
    decodeErrors: r.counter(
      'herald_decode_errors_total',
      'Datagrams dropped because they could not be decoded, by reason.',
      ['reason'],
    ),
    hintsIgnored: r.counter(
      'herald_hints_ignored_total',
      'Hints of newer versions dropped before catch-up: an origin this agent does not hold, another life, or left.',
      ['reason'],
    ),
  };
}

/** A newcomer's bulk catch-up at its join's member, and the first catch-ups it held back (docs/protocol.md). */
function bulkMetrics(r: MetricsRegistry) {
  return {
    bulkAsks: r.counter(
      'herald_bulk_asks_total',
      "A newcomer's bulk catch-up at its join's member (sync/bulk-sets.ts): asked, or why not (join-<probe outcome>, " +
        'member-set-asked, nothing-waiting); a second, older member asked for what the first lacked (second-asked, ' +
        'second-none: none older; second-late: its answer read past the hold).',
      ['result'],
    ),
    bulkHeld: r.counter(
      'herald_bulk_held_total',
      "First catch-ups held for the join's bulk answer and gone on their own, by what released them: the answer " +
        "settled (answer; its set did not come) or the hold's half deadline passed first (hold).",
      ['released'],
    ),
    firstCopies: r.counter(
      'herald_first_copies_total',
      "Origins' lives first held, by the path that brought them (bulk, second, catch-up, alternate, announcement) " +
        'and within how many seconds of this agent first knowing of the life (0.5, 1, 2, 4, 8, 16, +Inf).',
      ['path', 'within'],
    ),
  };
}

/** Repair between peers: gaps, catch-up, the peer endpoint, liveness probes and mDNS. */
function repairMetrics(r: MetricsRegistry) {
  return {
    gapsDetected: r.counter('herald_gaps_detected_total', 'Missed announcements noticed, by what revealed them.', [
      'signal',
    ]),
    catchupRequests: r.counter('herald_catchup_requests_total', 'Point-to-point catch-up requests made, by result.', [
      'result',
    ]),
    catchupSeconds: r.histogram(
      'herald_catchup_duration_seconds',
      'Latency of catch-up requests.',
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    ),
    snapshotFallbacks: r.counter(
      'herald_snapshot_fallbacks_total',
      'Catch-ups answered with a full snapshot instead of deltas.',
    ),
    peerRequestsServed: r.counter(
      'herald_peer_requests_total',
      'Requests served on the peer endpoint, by route and status.',
      ['route', 'status'],
    ),
    livenessProbes: r.counter('herald_liveness_probes_total', 'Direct probes of silent peers, by result.', ['result']),
    endpointProofs: r.counter(
      'herald_endpoint_proofs_total',
      "Probes that asked a monitor never heard for its datagram endpoint, before this agent's rounds go to it.",
    ),
    peerRequestFailures: r.counter(
      'herald_peer_request_failures_total',
      "This agent's failed catch-ups and probes of peers, by route and reason (timeout, refused, network, " +
        'status, malformed, unauthenticated, too-large; a catch-up also gap, behind, old-life, nothing-held...).',
      ['route', 'reason'],
    ),
    livenessSweepVisits: r.counter(
      'herald_liveness_sweep_visits_total',
      'Peers the liveness sweep looked at: those whose silence may matter now, and every peer each 30 s.',
    ),
    lostNotices: r.counter(
      'herald_lost_notices_total',
      "Lost notices heard, by what this agent did (believed, probed, relayed: a neighbour's, refuted, ignored, ...).",
      ['result'],
    ),
    provisionalLives: r.counter(
      'herald_provisional_lives_total',
      "Newer lives named by an unsigned message from the agent's own address, by outcome (taken provisionally, " +
        'confirmed or refuted at its endpoint, held: only probed after a recent refutation).',
      ['result'],
    ),
    mdnsHints: r.counter(
      'herald_mdns_hints_total',
      'mDNS adverts and goodbyes checked by a probe of the agent named, by result.',
      ['result'],
    ),
    mdnsConflicts: r.counter(
      'herald_mdns_conflicts_total',
      'mDNS names of this agent found taken by another responder and renamed, by kind (host, service).',
      ['kind'],
    ),
  };
}

/** Why liveness asked peers, and the view exchanges after a cut-off (docs/protocol.md, "Metrics"). */
function checkMetrics(r: MetricsRegistry) {
  return {
    announceChallenges: r.counter(
      'herald_announce_challenges_total',
      "An open site's announce challenges (sync/challenges.ts), by result: sent, confirmed, mismatch, unanswered, " +
        'skipped (none sent: a bound), echoed, and refused (an echo not sent: other name, a bound).',
      ['result'],
    ),
    livenessChecks: r.counter(
      'herald_liveness_checks_total',
      'Probes the sweep or a view exchange started, by the rule that fired (monitor, backstop, noticed, period, ' +
        'verify, reprobe, exchange).',
      ['rule'],
    ),
    livenessCheckSilence: r.counter(
      'herald_liveness_check_silence_seconds_total',
      "The peers' silence when those probes started, summed by rule: divided by the checks, how late they were.",
      ['rule'],
    ),
    viewExchanges: r.counter(
      'herald_view_exchanges_total',
      'Summaries asked of a ring neighbour after a cut-off, by why (cut-off, unreachable-heard, late-heard; ' +
        'held-back: run late; vote: the site heartbeats named another view, the summary of a ring neighbour whose ' +
        'view differs; digest: a compare of views, before a late-heard or vote one or after a summary that named ' +
        'nothing to check; second-opinion: the next neighbour summary asked when that compare differed; ' +
        "join-digest, join: a newcomer's checks of its join's view, a compare and the summary when the views differ).",
      ['why'],
    ),
  };
}

/** Lifeguard's local health of this agent as a prober (docs/protocol.md, "Local health"). */
function localHealthGauge(r: MetricsRegistry): { read: () => number } {
  const source = { read: () => 0 };
  r.gauge(
    'herald_local_health',
    "This agent's local health as a prober: 0 when healthy, up to 7; probe deadlines are stretched (score + 1) times.",
    () => source.read(),
  );
  return source;
}

/** This host's side: profiles, the local API, rejected input and survived bugs. */
function hostMetrics(r: MetricsRegistry) {
  return {
    profileErrors: r.counter('herald_profile_errors_total', 'Errors found in device profiles on load or reload.'),
    profileReloads: r.counter('herald_profile_reloads_total', 'Profile folder reloads, by result.', ['result']),
    apiRequests: r.counter('herald_api_requests_total', 'Local API requests, by route and status.', [
      'route',
      'status',
    ]),
    invalidInput: r.counter('herald_invalid_input_total', 'Input rejected as malformed, by source and reason.', [
      'source',
      'reason',
    ]),
    bugs: r.counter(
      'herald_bugs_total',
      'Errors no input should cause (a handler threw, an unhandled rejection), caught and survived; by where.',
      ['where'],
    ),
  };
}
