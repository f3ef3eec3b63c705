/** Why a catch-up answer was not used; the request is retried with backoff. */
export class CatchupFailure extends Error {
  constructor(
    readonly reason: 'nothing-held' | 'gap' | 'behind' | 'old-life' | 'moved-on' | 'too-many-pages' | 'lagged',
    message: string,
  ) {
    super(message);
    this.name = 'CatchupFailure';
  }
}

/**
 * A failed request's reason for herald_peer_request_failures_total: the typed reason of a peer request's
 * failure, a catch-up's own, or a decoding one; `error` for anything else (bounded label values).
 */
export function failureReason(err: unknown): string {
  const reason = (err as { reason?: unknown } | undefined)?.reason;
  return typeof reason === 'string' && /^[a-z-]{1,32}$/.test(reason) ? reason : 'error';
}
