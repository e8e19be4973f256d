#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages listed in hack/deps-*.txt that are
# missing. With arguments, only those lists (e.g. `deps.sh run image`).
set -euo pipefail
cd "$(dirname "$0")"

lists=("$@")
[ ${#lists[@]} -eq 0 ] && lists=(run image)

arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
want=()
for l in "${lists[@]}"; do
  while read -r pkg; do
    pkg=${pkg%%#*}; pkg=${pkg// /}
    [ -z "$pkg" ] && continue
    if [ "$arch" = arm64 ] && [ "$pkg" = qemu-system-x86 ]; then pkg=qemu-system-arm; fi
    want+=("$pkg")
  done < "deps-$l.txt"
done

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing host packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
