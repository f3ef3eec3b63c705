#!/usr/bin/env bash
# Installs the built agent as a systemd service:
#   /opt/herald                        the agent (dist/src, production node_modules, README)
#   /etc/systemd/system/herald.service the unit
#   /etc/herald/herald.yaml            the example config (kept if one exists)
#   /etc/herald/device-profiles/       where this host's profiles go (samples in /opt/herald/examples)
# Usage (after npm ci, which builds dist/): sudo scripts/install.sh [--prefix DIR] [--destdir DIR] [--no-systemctl] [--enable]
# Offline, from a release tarball (npm pack, dependencies bundled):
#   tar xzf herald-VERSION.tgz && sudo bash package/scripts/install.sh
set -euo pipefail

prefix=/opt/herald
destdir=""
systemctl=1
enable=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --destdir) destdir="$2"; shift 2 ;;
    --no-systemctl) systemctl=0; shift ;;
    --enable) enable=1; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done

case "$prefix" in
  /?*) ;;
  *) echo "install.sh: --prefix must be an absolute folder (the unit's ExecStart names it), got '$prefix'" >&2; exit 64 ;;
esac
cd "$(dirname "$0")/.."
if [ ! -f dist/src/cli/main.js ]; then
  echo "install.sh: dist/ is missing: run 'npm ci' (it builds dist/) first" >&2
  exit 1
fi
node_bin="$(command -v node || true)"
if [ -z "$node_bin" ]; then
  echo "install.sh: node (20 or newer) is not on PATH" >&2
  exit 1
fi

root="$destdir$prefix"
# --prefix is the agent's own folder, replaced as a whole on an upgrade: never one holding other
# software (--prefix /usr/local, as ./configure takes it, would be wiped).
if [ -e "$root" ] && [ -n "$(ls -A "$root")" ] && ! grep -qsE '"name": *"herald"' "$root/package.json"; then
  echo "install.sh: $root is not a Herald install and not empty: --prefix needs a folder of its own" >&2
  exit 1
fi
echo "installing the agent in $root"
rm -rf "$root"
install -d "$root/dist" "$root/examples"
cp -r dist/src "$root/dist/src"
cp package.json README.md "$root/"
cp -r docs "$root/docs"
cp -r device-profiles "$root/examples/device-profiles"
if [ -f package-lock.json ]; then
  # A checkout: production dependencies from the registry, without lifecycle scripts (prepare would
  # want the TypeScript compiler).
  cp package-lock.json "$root/"
  (cd "$root" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
else
  # An unpacked release (npm pack: its production dependencies are bundled): nothing is fetched, so a
  # host without registry access installs it. See README, "Install without the registry".
  cp -r node_modules "$root/node_modules"
fi

unit_dir="$destdir/etc/systemd/system"
install -d "$unit_dir"
sed -e "s#/usr/bin/node#$node_bin#" -e "s#/opt/herald#$prefix#g" systemd/herald.service > "$unit_dir/herald.service"
chmod 0644 "$unit_dir/herald.service"
echo "installed $unit_dir/herald.service"

conf="$destdir/etc/herald"
install -d "$conf/device-profiles"
cp device-profiles/schema.json "$conf/device-profiles/schema.json"
if [ -e "$conf/herald.yaml" ]; then
  echo "kept the existing $conf/herald.yaml"
else
  install -m 0644 systemd/herald.yaml "$conf/herald.yaml"
  echo "installed the example $conf/herald.yaml: set 'interface' to your LAN interface"
fi

if [ "$systemctl" = 1 ] && command -v systemctl >/dev/null; then
  systemctl daemon-reload
  if [ "$enable" = 1 ]; then systemctl enable --now herald; fi
fi
cat <<MSG

Next: put this host's profiles in $conf/device-profiles/ (samples: $prefix/examples/device-profiles),
set 'interface' in $conf/herald.yaml, then: systemctl enable --now herald
MSG
