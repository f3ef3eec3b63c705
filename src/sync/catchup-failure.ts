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
