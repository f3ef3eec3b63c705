"""Browse a DNS-SD service type with python-zeroconf (an implementation independent of Herald's) and
print one JSON line per event: what a standard tool sees. Usage: zeroconf_browse.py IFACE_ADDR TYPE SECONDS"""
import json
import sys
import time

from zeroconf import IPVersion, ServiceBrowser, ServiceStateChange, Zeroconf

iface, service_type, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
zc = Zeroconf(interfaces=[iface], ip_version=IPVersion.V4Only)


def on_change(zeroconf, service_type, name, state_change):
    out = {"event": state_change.name, "name": name}
    if state_change is not ServiceStateChange.Removed:
        info = zeroconf.get_service_info(service_type, name, timeout=2000)
        if info:
            out["txt"] = {k.decode(): (v.decode() if v is not None else None) for k, v in info.properties.items()}
            out["port"] = info.port
            out["addresses"] = info.parsed_addresses()
            out["server"] = info.server
    print(json.dumps(out), flush=True)


browser = ServiceBrowser(zc, service_type, handlers=[on_change])
print(json.dumps({"event": "ready"}), flush=True)
try:
    time.sleep(seconds)
finally:
    browser.cancel()
    zc.close()
