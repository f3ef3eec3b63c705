/** Unsigned LEB128 varints of the wire format: the bytes `n` takes. */
export function varintLength(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** Writes `n` at `o`; returns the offset after it. */
export function writeVarint(b: Buffer, o: number, n: number): number {
  while (n >= 128) {
    b[o++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  b[o++] = n;
  return o;
}
