"""One UDP datagram whose IPv4 source address is forged: what any host of a LAN can send, as no ARP is needed
to send (only to receive the replies). Usage: spoof_udp.py SRC_ADDR SRC_PORT DST_ADDR DST_PORT HEX_PAYLOAD.
A raw socket (root, CAP_NET_RAW) with the IP header written here; for a multicast destination the kernel
routes it by the namespace's 224.0.0.0/4 route. TTL 1, as Herald's own datagrams. Prints {"sent": bytes}."""
import json
import socket
import struct
import sys

src, sport, dst, dport, payload = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), bytes.fromhex(sys.argv[5])


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


udp_len = 8 + len(payload)
pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, socket.IPPROTO_UDP, udp_len)
udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
udp = struct.pack("!HHHH", sport, dport, udp_len, checksum(pseudo + udp) or 0xFFFF) + payload
header = struct.pack(
    "!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0x4E52, 0, 1, socket.IPPROTO_UDP, 0, socket.inet_aton(src),
    socket.inet_aton(dst),
)
header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
sent = s.sendto(header + udp, (dst, 0))
print(json.dumps({"sent": sent}))
