/** A datagram that cannot be read: `reason` is herald_decode_errors_total's label. */
export class DecodeError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'DecodeError';
  }
}

/** Reads a datagram's fields in order; running past its end is a DecodeError, never a read of other memory. */
export class Reader {
  constructor(
    private readonly b: Uint8Array,
    private o = 0,
  ) {}
  private need(n: number): void {
    if (this.o + n > this.b.length) throw new DecodeError('truncated', 'datagram ends inside a field');
  }
  u8(): number {
    this.need(1);
    return this.b[this.o++];
  }
  u16(): number {
    this.need(2);
    const v = (this.b[this.o] << 8) | this.b[this.o + 1];
    this.o += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v =
      ((this.b[this.o] << 24) | (this.b[this.o + 1] << 16) | (this.b[this.o + 2] << 8) | this.b[this.o + 3]) >>> 0;
    this.o += 4;
    return v;
  }
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.u8();
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (!Number.isSafeInteger(result)) break;
        return result;
      }
      scale *= 128;
    }
    throw new DecodeError('varint', 'integer too large');
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.b.subarray(this.o, this.o + n);
    this.o += n;
    return out;
  }
  str(): string {
    const n = this.u8();
    const text = utf8(this.bytes(n));
    if (Buffer.byteLength(text) !== n) throw new DecodeError('utf8', 'string is not valid UTF-8');
    return text;
  }
  done(): boolean {
    return this.o === this.b.length;
  }
  get remaining(): number {
    return this.b.length - this.o;
  }
}

/** A view's bytes as UTF-8 text, read in place: the copy Buffer.from(view) made was garbage at once. */
export function utf8(view: Uint8Array): string {
  return (Buffer.isBuffer(view) ? view : Buffer.from(view.buffer, view.byteOffset, view.byteLength)).toString('utf8');
}
