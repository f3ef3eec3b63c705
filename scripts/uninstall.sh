#!/usr/bin/env bash
# Removes what install.sh installed. Keeps /etc/herald (config, profiles, keys) and /var/lib/herald
# (identity) unless --purge is given.
# Usage: sudo scripts/uninstall.sh [--prefix DIR] [--destdir DIR] [--no-systemctl] [--purge]
set -euo pipefail

prefix=/opt/herald
destdir=""
systemctl=1
purge=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --destdir) destdir="$2"; shift 2 ;;
    --no-systemctl) systemctl=0; shift ;;
    --purge) purge=1; shift ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) echo "uninstall.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done

root="$destdir$prefix"
if [ -e "$root" ] && [ -n "$(ls -A "$root")" ] && ! grep -qsE '"name": *"herald"' "$root/package.json"; then
  echo "uninstall.sh: $root is not a Herald install: nothing removed (check --prefix)" >&2
  exit 1
fi
if [ "$systemctl" = 1 ] && command -v systemctl >/dev/null; then
  systemctl disable --now herald 2>/dev/null || true
fi
rm -f "$destdir/etc/systemd/system/herald.service"
rm -rf "$root"
if [ "$purge" = 1 ]; then
  rm -rf "$destdir/etc/herald" "$destdir/var/lib/herald" "$destdir/var/lib/private/herald"
fi
if [ "$systemctl" = 1 ] && command -v systemctl >/dev/null; then
  systemctl daemon-reload || true
fi
echo "herald removed${purge:+}$([ "$purge" = 1 ] && echo ', with its config and state' || echo '; /etc/herald and /var/lib/herald kept (--purge removes them)')"
