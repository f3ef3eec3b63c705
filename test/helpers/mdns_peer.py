"""An independent mDNS host (python-zeroconf) driven over stdin, answering in JSON lines on stdout.
Usage: mdns_peer.py IFACE_ADDR. Commands:
  resolve NAME                 -> {"resolved": NAME, "addresses": [...]}   (A records, asked afresh)
  service TYPE INSTANCE        -> {"service": INSTANCE, "port": P, "server": S, "addresses": [...]} or null info
  register TYPE INSTANCE PORT  -> {"registered": INSTANCE}
Every record with TTL 0 heard on the link is reported as {"goodbye": NAME, "type": T}, so a test can
check that nobody withdrew what it does not own."""
import json
import socket
import struct
import sys
import threading
import time

from zeroconf import DNSIncoming, DNSOutgoing, DNSQuestion, IPVersion, ServiceInfo, Zeroconf, current_time_millis
from zeroconf.const import _CLASS_IN, _FLAGS_QR_QUERY, _TYPE_A

iface = sys.argv[1]
zc = Zeroconf(interfaces=[iface], ip_version=IPVersion.V4Only)
lock = threading.Lock()


def say(obj):
    with lock:
        print(json.dumps(obj), flush=True)


def watch():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("224.0.0.251", 5353))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton("224.0.0.251") + socket.inet_aton(iface))
    while True:
        data, _ = s.recvfrom(9000)
        try:
            msg = DNSIncoming(data)
            answers = msg.answers() if callable(msg.answers) else msg.answers
        except Exception:
            continue
        for r in answers:
            if r.ttl == 0:
                say({"goodbye": r.name.lower(), "type": r.type})


def resolve(name):
    fqdn = name if name.endswith(".") else name + "."
    deadline = time.time() + 4
    asked = 0
    while time.time() < deadline:
        if time.time() - asked > 1:  # asked again each second: a query sent as zeroconf starts may be lost
            out = DNSOutgoing(_FLAGS_QR_QUERY)
            out.add_question(DNSQuestion(fqdn, _TYPE_A, _CLASS_IN))
            zc.send(out)
            asked = time.time()
        now = current_time_millis()
        found = [r for r in zc.cache.get_all_by_details(fqdn.lower(), _TYPE_A, _CLASS_IN) if not r.is_expired(now)]
        if found:
            return sorted({socket.inet_ntoa(r.address) for r in found})
        time.sleep(0.05)
    return []


threading.Thread(target=watch, daemon=True).start()
say({"ready": True})
for line in sys.stdin:
    parts = line.strip().split("\t")
    if parts[0] == "resolve":
        say({"resolved": parts[1], "addresses": resolve(parts[1])})
    elif parts[0] == "service":
        info = zc.get_service_info(parts[1], parts[2], timeout=3000)
        say({"service": parts[2], "port": info.port if info else None, "server": info.server if info else None,
             "addresses": info.parsed_addresses() if info else []})
    elif parts[0] == "register":
        info = ServiceInfo(parts[1], parts[2], addresses=[socket.inet_aton(iface)], port=int(parts[3]),
                           properties={"txtvers": "1"}, server="zc-" + str(int(time.time())) + ".local.")
        zc.register_service(info)
        say({"registered": parts[2]})
zc.close()
