import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../util/clock.js';
import type { KeyRing } from './cluster-key.js';
import { KeyWindow } from './key-window.js';

/**
 * Authentication of the peer endpoint with the cluster key, HMAC-SHA256 with a timestamp:
 *
 *   request   x-herald-auth: k=<key id>,t=<ms>,s=<hex HMAC("req\n" t "\n" method "\n" path?query)>
 *   response  x-herald-auth: k=<key id>,t=<ms>,s=<hex HMAC("res\n" t "\n" request s "\n" SHA-256(body))>
 *
 * A response is bound to the request it answers (its signature), so an old answer cannot be replayed
 * to a new question. docs/security.md says why this and not TLS with a pinned CA.
 */
export const AUTH_HEADER = 'x-herald-auth';

export type AuthFailure = 'missing' | 'malformed' | 'unknown-key' | 'bad-signature' | 'stale';

export class PeerAuth {
  private readonly keys: KeyWindow;

  constructor(keys: KeyRing, clock: Clock, windowMs = 120_000) {
    this.keys = new KeyWindow(keys, clock, windowMs);
  }

  /** Takes a new key ring at once (SIGHUP after a key file edit): rotation without a restart. */
  setKeys(keys: KeyRing): void {
    this.keys.setKeys(keys);
  }

  signRequest(method: string, pathAndQuery: string): { header: string; signature: string } {
    const t = this.keys.now();
    const s = this.mac(this.keys.signing.secret, `req\n${t}\n${method}\n${pathAndQuery}`);
    return { header: `k=${this.keys.signing.id},t=${t},s=${s}`, signature: s };
  }

  /** Checks a request; returns its signature (to bind the response) or why it is refused. */
  verifyRequest(
    header: string | undefined,
    method: string,
    pathAndQuery: string,
  ): { ok: true; signature: string } | { ok: false; reason: AuthFailure } {
    const parsed = this.parse(header);
    if (!parsed.ok) return parsed;
    const { key, t, s } = parsed;
    if (!this.equal(s, this.mac(key, `req\n${t}\n${method}\n${pathAndQuery}`)))
      return { ok: false, reason: 'bad-signature' };
    if (this.keys.skewOutside(t) !== undefined) return { ok: false, reason: 'stale' };
    return { ok: true, signature: s };
  }

  signResponse(requestSignature: string, body: Buffer | string): string {
    const t = this.keys.now();
    return `k=${this.keys.signing.id},t=${t},s=${this.mac(this.keys.signing.secret, `res\n${t}\n${requestSignature}\n${sha256(body)}`)}`;
  }

  verifyResponse(
    header: string | undefined,
    requestSignature: string,
    body: Buffer,
  ): { ok: true } | { ok: false; reason: AuthFailure } {
    const parsed = this.parse(header);
    if (!parsed.ok) return parsed;
    const { key, t, s } = parsed;
    if (!this.equal(s, this.mac(key, `res\n${t}\n${requestSignature}\n${sha256(body)}`)))
      return { ok: false, reason: 'bad-signature' };
    if (this.keys.skewOutside(t) !== undefined) return { ok: false, reason: 'stale' };
    return { ok: true };
  }

  private parse(
    header: string | undefined,
  ): { ok: true; key: Buffer; t: number; s: string } | { ok: false; reason: AuthFailure } {
    if (!header) return { ok: false, reason: 'missing' };
    const m = /^k=(\d{1,3}),t=(\d{1,16}),s=([0-9a-f]{64})$/.exec(header);
    if (!m) return { ok: false, reason: 'malformed' };
    const key = this.keys.byId(Number(m[1]));
    if (!key) return { ok: false, reason: 'unknown-key' };
    return { ok: true, key: key.secret, t: Number(m[2]), s: m[3] };
  }

  private mac(secret: Buffer, text: string): string {
    return createHmac('sha256', secret).update(text).digest('hex');
  }

  private equal(a: string, b: string): boolean {
    return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
  }
}

function sha256(body: Buffer | string): string {
  return createHash('sha256').update(body).digest('hex');
}
