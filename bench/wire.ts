/**
 * Bytes a UDP datagram takes on an Ethernet LAN with a 1500-byte MTU: its payload, 8 bytes of UDP
 * header once, and 20 bytes of IPv4 header per fragment. Loopback would carry it in one piece; a LAN
 * would not, so the fragments are counted.
 */
export function udpWireBytes(payload: number): number {
  return payload + 8 + 20 * Math.ceil((payload + 8) / 1480);
}

/** Minimal TCP/IP header bytes for one request and its answer (one segment each way, 52 bytes each). */
export const TCP_EXCHANGE_OVERHEAD = 104;

/** A datagram's IPv4 and UDP headers in one piece (the idle window's datagrams are all well under the MTU). */
export const UDP_IP_HEADER_BYTES = 28;
