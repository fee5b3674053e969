#!/usr/bin/env bash
# Install the Debian packages listed in scripts/debian-packages.txt that are not installed yet.
# Runs apt-get update only when something is missing. Needs root (CI and the lab run as root).
set -euo pipefail
cd "$(dirname "$0")"
mapfile -t pkgs < <(grep -v '^\s*#' debian-packages.txt | grep -v '^\s*$')
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then exit 0; fi
echo "setup: installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# the routers are started by the lab in namespaces, never as host services
for svc in bird frr gobgpd exabgp keepalived etcd; do
  systemctl disable --now "$svc" >/dev/null 2>&1 || true
  service "$svc" stop >/dev/null 2>&1 || true
done
