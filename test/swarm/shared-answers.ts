import type { Changes } from '../../src/directory/directory.js';
import type { PeerClient } from '../../src/transport/transport.js';

/**
 * A simulator economy, not a model: every agent that catches up an origin at the same (incarnation,
 * version) from the same starting point gets the same answer, so the decoded answer is made once and
 * handed to all of them (frozen, so that an agent changing it would throw rather than corrupt the
 * others). A site of 1,000 agents × 10 devices otherwise holds 10 million decoded device copies.
 */
export class SharedAnswers {
  private readonly answers = new Map<string, Changes>();

  peers(inner: PeerClient): PeerClient {
    return {
      changes: async (peer, request, timeoutMs) => {
        const answer = await inner.changes(peer, request, timeoutMs);
        if (!answer) return answer;
        const key = [answer.origin, answer.kind, answer.incarnation, answer.version, request.since, request.after].join(
          '\0',
        );
        const known = this.answers.get(key);
        if (known) return known;
        this.answers.set(key, deepFreeze(answer));
        return answer;
      },
      hello: (peer, timeoutMs, withPeers, asker) => inner.hello(peer, timeoutMs, withPeers, asker),
      close: () => inner.close(),
    };
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
