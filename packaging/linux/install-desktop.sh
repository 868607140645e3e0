#!/usr/bin/env bash
# Add ferdesk to the desktop's application menu for this user (or system-wide with --prefix /usr/local).
#   packaging/linux/install-desktop.sh [--prefix DIR] [--exec COMMAND]
# --exec: the command the menu entry starts (default: the full path of the ferdesk found on PATH, so that
# an install in a virtual environment starts from the menu too; for the standalone bundle give its path,
# e.g. --exec /opt/ferdesk/ferdesk).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
prefix="${XDG_DATA_HOME:-$HOME/.local/share}"
exec_cmd="$(command -v ferdesk || echo ferdesk)"
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2/share"; shift 2 ;;
    --exec) exec_cmd="$2"; shift 2 ;;
    *) echo "install-desktop.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
app=io.github.ferdesk.ferdesk
install -d "$prefix/applications" "$prefix/metainfo" "$prefix/icons/hicolor/scalable/apps"
sed -e "s|^Exec=ferdesk|Exec=$exec_cmd|" -e "s|^TryExec=ferdesk|TryExec=$exec_cmd|" \
  "$here/$app.desktop" > "$prefix/applications/$app.desktop"
install -m 644 "$here/$app.metainfo.xml" "$prefix/metainfo/$app.metainfo.xml"
install -m 644 "$here/../icons/$app.svg" "$prefix/icons/hicolor/scalable/apps/$app.svg"
for png in "$here"/../icons/hicolor/*/apps/$app.png; do
  size="$(basename "$(dirname "$(dirname "$png")")")"
  install -d "$prefix/icons/hicolor/$size/apps"
  install -m 644 "$png" "$prefix/icons/hicolor/$size/apps/$app.png"
done
command -v update-desktop-database >/dev/null && update-desktop-database -q "$prefix/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$prefix/icons/hicolor" || true
echo "installed $app into $prefix (menu entry runs: $exec_cmd)"
