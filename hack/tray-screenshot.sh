#!/usr/bin/env bash
# Screenshot of the tray's menu in a real StatusNotifierItem host: Debian's
# xfce4-panel (its systray plugin hosts SNI icons) on Xvfb, with a private
# session bus. Usage: hack/tray-screenshot.sh OUT.png  (needs the packages
# in hack/deps-screenshot.txt; the machine is left stopped).
set -euo pipefail
out=$(realpath -m "${1:?usage: $0 OUT.png}")
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

(cd "$root" && go build -o "$work/berth-tray" ./cmd/berth-tray && go build -o "$work/berth" ./cmd/berth)
mkdir -p "$work/home/.config/xfce4/xfconf/xfce-perchannel-xml" "$work/berth-home"
# The panel's stock layout, so it starts without asking.
cp /etc/xdg/xfce4/panel/default.xml "$work/home/.config/xfce4/xfconf/xfce-perchannel-xml/xfce4-panel.xml"
echo '{"startEngine": false, "onQuit": "leave"}' > "$work/berth-home/tray.json"

display=:$((70 + RANDOM % 20))
Xvfb "$display" -screen 0 1280x720x24 >"$work/xvfb.log" 2>&1 &
sleep 2

cat > "$work/session.sh" <<EOS
#!/bin/sh
export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config BERTH_HOME=$work/berth-home DISPLAY=$display PATH=$work:\$PATH
xfce4-panel >$work/panel.log 2>&1 &
sleep 6
berth-tray >$work/tray.log 2>&1 &
sleep 6
# The stock layout puts the tray icon left of the clock.
xdotool mousemove 1155 12 click 1
sleep 2
import -window root $work/full.png
EOS
chmod +x "$work/session.sh"
dbus-run-session -- "$work/session.sh"
convert "$work/full.png" -crop 420x345+860+0 +repage "$out"
echo "wrote $out"
