import type { Changes } from '../directory/directory.js';
import { checkChanges } from '../sync/peer-protocol.js';

/** Distinct answers kept; past it the cache starts again (an old version is decoded again if ever asked). */
const KEPT = 20_000;

/**
 * A simulator economy for large sites (MemoryNetwork's `shareAnswers`): each distinct catch-up answer is
 * decoded and checked once, and every agent that gets the same bytes gets the same frozen copy. 1,000
 * agents make about a million catch-ups of a few thousand distinct answers; decoded one by one they were
 * also ten million device copies. An agent that changed an answer would throw rather than corrupt others.
 */
export class SharedAnswers {
  private readonly decoded = new Map<string, Changes>();

  decode(json: string, origin: string): Changes {
    const key = `${origin}\0${json}`;
    let answer = this.decoded.get(key);
    if (answer === undefined) {
      if (this.decoded.size >= KEPT) this.decoded.clear();
      this.decoded.set(key, (answer = deepFreeze(checkChanges(JSON.parse(json), origin))));
    }
    return answer;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
