/**
 * Wraps encoded datagrams for the wire. The open envelope adds nothing; the authenticated one (cluster
 * key) appends a tag and checks it. `open` throws a DecodeError on anything it refuses.
 */
export interface Envelope {
  /** Bytes `seal` adds, so the encoder leaves room for them within one datagram. */
  readonly overhead: number;
  seal(bytes: Uint8Array): Uint8Array;
  open(bytes: Uint8Array): Uint8Array;
  /**
   * The sender's clock when it sealed these (already opened) bytes, when the envelope carries it: the
   * receiver tells a fresh datagram from a replayed one by it.
   */
  sentAt?(bytes: Uint8Array): number | undefined;
}

export const openEnvelope: Envelope = Object.freeze({
  overhead: 0,
  seal: (bytes: Uint8Array) => bytes,
  open: (bytes: Uint8Array) => bytes,
});
