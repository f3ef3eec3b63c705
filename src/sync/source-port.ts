import type { HeraldMetrics } from '../metrics/herald-metrics.js';
import type { Endpoint } from '../transport/transport.js';

/**
 * Whether a datagram's source cannot be answered: port 0 (no socket sends from it, and Node's dgram throws on a send
 * to it), so only a forger names it. Taken, it became a unicast target, a peer's round endpoint
 * (cluster-sync.ts), and each send a throw in its caller. Dropped before anything is read,
 * `herald_invalid_input_total{source="datagram",reason="source-port"}`.
 */
export function unanswerable(from: Endpoint, metrics: HeraldMetrics): boolean {
  if (from.port > 0 && from.port < 65536) return false;
  metrics.invalidInput.inc({ source: 'datagram', reason: 'source-port' });
  return true;
}
