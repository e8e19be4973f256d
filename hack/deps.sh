#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages of the lists hack/deps-LIST.txt that
# are missing, e.g. `deps.sh run image` or `deps.sh windows`. Each Makefile
# target that needs host packages calls it with its own lists (the first
# line of each list says which targets use it).
#
# Lists named after --optional may fail to install: what is missing is
# reported with how to get it, and the script still succeeds (`make run`
# starts the engine without a docker CLI).
#
# A line of a list is a package, or alternatives "a | b": the first one
# installed satisfies it, else the first one the apt sources offer is
# installed. qemu-system-x86 becomes qemu-system-arm on arm64 hosts.
#
# Not root: nothing is installed; the one command that installs what is
# missing is printed, and the script fails (it never prompts for sudo).
set -euo pipefail
self=$0
here=$(cd "$(dirname "$0")" && pwd)

required=() optional=() opt=0
for a in "$@"; do
  case $a in
    --optional) opt=1 ;;
    -*) echo "deps.sh: unknown flag $a (usage: deps.sh LIST... [--optional LIST...])" >&2; exit 2 ;;
    *)
      if [ ! -f "$here/deps-$a.txt" ]; then
        echo "deps.sh: no package list \"$a\" (hack/deps-$a.txt); lists:" \
          "$(cd "$here" && ls deps-*.txt | sed 's/^deps-//; s/\.txt$//' | tr '\n' ' ')" >&2
        exit 2
      fi
      if [ $opt = 1 ]; then optional+=("$a"); else required+=("$a"); fi ;;
  esac
done
if [ ${#required[@]} -eq 0 ] && [ ${#optional[@]} -eq 0 ]; then
  echo "usage: deps.sh LIST... [--optional LIST...]  (lists: hack/deps-LIST.txt)" >&2
  exit 2
fi

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  echo "deps.sh: not a Debian/Ubuntu system (no dpkg-query/apt-get): install yourself what" \
    "these lists name: $(for l in "${required[@]}" "${optional[@]}"; do printf 'hack/deps-%s.txt ' "$l"; done)" >&2
  [ ${#required[@]} -eq 0 ] && exit 0
  exit 1
fi

arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

# lines LIST: the list's package lines, comments and blanks removed.
lines() {
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%%#*}
    line=$(echo "$line" | tr -s ' \t' ' ' | sed 's/^ //; s/ $//')
    [ -z "$line" ] && continue
    if [ "$arch" = arm64 ]; then line=${line//qemu-system-x86/qemu-system-arm}; fi
    echo "$line"
  done <"$here/deps-$1.txt"
}

# missing LIST...: the lines of these lists that no installed package satisfies.
missing() {
  local l line alt ok
  for l in "$@"; do
    # A docker CLI from elsewhere (a static binary, Docker's packages) will do.
    if [ "$l" = docker ] && command -v docker >/dev/null; then continue; fi
    while IFS= read -r line; do
      ok=0
      IFS='|' read -ra alts <<<"$line"
      for alt in "${alts[@]}"; do
        alt=${alt// /}
        if installed "$alt"; then ok=1; break; fi
      done
      [ $ok = 1 ] || echo "$line"
    done < <(lines "$l")
  done | awk '!seen[$0]++'
}

# candidate LINE: the first alternative the apt sources offer.
candidate() {
  local alt
  IFS='|' read -ra alts <<<"$1"
  for alt in "${alts[@]}"; do
    alt=${alt// /}
    c=$(apt-cache policy "$alt" 2>/dev/null | awk '/Candidate:/ {print $2}')
    if [ -n "$c" ] && [ "$c" != "(none)" ]; then echo "$alt"; return 0; fi
  done
  return 1
}

# docker_report: which docker CLI is on PATH, and from which package.
docker_report() {
  local p pkg v
  if p=$(command -v docker); then
    pkg=$(dpkg-query -S "$(readlink -f "$p")" 2>/dev/null | cut -d: -f1 || true)
    v=$(docker version --format '{{.Client.Version}}' 2>/dev/null || true)
    echo "docker CLI: $p${v:+ (version $v)}${pkg:+, from package $pkg}"
  fi
}

how_to_get() {
  echo "No docker CLI could be installed: the engine starts without it. Get one with" \
    "\`sudo apt-get install docker.io\` (Debian/Ubuntu), or Docker's own packages" \
    "(https://docs.docker.com/engine/install/), then \`docker context use berth\`."
}

need=() want=()
mapfile -t need < <(missing "${required[@]}")
[ ${#optional[@]} -gt 0 ] && mapfile -t want < <(missing "${optional[@]}")
if [ ${#need[@]} -eq 0 ] && [ ${#want[@]} -eq 0 ]; then
  [[ " ${optional[*]} ${required[*]} " == *" docker "* ]] && docker_report
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if [ ${#need[@]} -gt 0 ]; then
    echo "Missing host packages: $(printf '%s, ' "${need[@]}" | sed 's/, $//')." >&2
    echo "Installing them needs root; run this one command, then the make target again:" >&2
    echo "    sudo $self $*" >&2
    exit 1
  fi
  echo "Missing (optional): $(printf '%s, ' "${want[@]}" | sed 's/, $//'); to install: sudo $self ${optional[*]}" >&2
  [[ " ${optional[*]} " == *" docker "* ]] && how_to_get >&2
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
echo "Updating the package lists (apt-get update)"
apt-get update -qq || echo "warning: apt-get update failed; trying the lists apt already has" >&2

resolve() { # LINE...: one installable package per line, or fail naming the line
  local line p rc=0
  for line in "$@"; do
    if p=$(candidate "$line"); then echo "$p"; else echo "deps.sh: no package for \"$line\" in the apt sources" >&2; rc=1; fi
  done
  return $rc
}

if [ ${#need[@]} -gt 0 ]; then
  mapfile -t pkgs < <(resolve "${need[@]}") || true
  if [ ${#pkgs[@]} -ne ${#need[@]} ]; then exit 1; fi
  echo "Installing host packages (${required[*]}): ${pkgs[*]}"
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
fi
if [ ${#want[@]} -gt 0 ]; then
  mapfile -t pkgs < <(resolve "${want[@]}" 2>/dev/null) || true
  if [ ${#pkgs[@]} -gt 0 ]; then
    echo "Installing host packages (${optional[*]}): ${pkgs[*]}"
    apt-get install -y -qq --no-install-recommends "${pkgs[@]}" || echo "warning: installing ${pkgs[*]} failed" >&2
  fi
  mapfile -t want < <(missing "${optional[@]}")
  if [ ${#want[@]} -gt 0 ]; then
    echo "Not installed (optional): $(printf '%s, ' "${want[@]}" | sed 's/, $//')" >&2
    [[ " ${optional[*]} " == *" docker "* ]] && how_to_get >&2
  fi
fi
[[ " ${optional[*]} ${required[*]} " == *" docker "* ]] && docker_report
exit 0
