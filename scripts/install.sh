#!/usr/bin/env bash
# Builds qrscpd in release mode and installs it as a systemd service:
#   /usr/local/bin/qrscpd
#   /etc/systemd/system/qrscpd.service, qrscpd.socket
#   /etc/qrscpd/qrscpd.yaml   (only when absent: an existing config is never overwritten)
#
# Usage: scripts/install.sh [--no-build] [--binary PATH]
#   DESTDIR=/tmp/stage   stage the files under a root other than / (packaging, tests);
#                        systemctl is then never called.
#   UNITDIR=DIR          unit directory (default /etc/systemd/system)
#   --no-build           install the existing .build/release/qrscpd
#   --binary PATH        install this binary instead of building
set -euo pipefail
cd "$(dirname "$0")/.."

destdir="${DESTDIR:-}"
destdir="${destdir%/}"
unitdir="${UNITDIR:-/etc/systemd/system}"
bindir=/usr/local/bin
confdir=/etc/qrscpd
build=1
binary=.build/release/qrscpd

while [ $# -gt 0 ]; do
    case "$1" in
        --no-build) build=0 ;;
        --binary) shift; binary="${1:?--binary needs a path}"; build=0 ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

if [ "$build" = 1 ]; then
    swift build -c release --product qrscpd
    binary="$(swift build -c release --show-bin-path)/qrscpd"
fi
[ -x "$binary" ] || { echo "install.sh: no executable at $binary" >&2; exit 1; }

install -d -m 0755 "$destdir$bindir" "$destdir$unitdir"
install -m 0755 "$binary" "$destdir$bindir/qrscpd"
install -m 0644 systemd/qrscpd.service systemd/qrscpd.socket "$destdir$unitdir/"
echo "installed $destdir$bindir/qrscpd"
echo "installed $destdir$unitdir/qrscpd.service, qrscpd.socket"

if [ -f etc/qrscpd/qrscpd.yaml ]; then
    if [ -e "$destdir$confdir/qrscpd.yaml" ]; then
        echo "kept existing $destdir$confdir/qrscpd.yaml"
    else
        install -d -m 0755 "$destdir$confdir"
        install -m 0644 etc/qrscpd/qrscpd.yaml "$destdir$confdir/qrscpd.yaml"
        echo "installed $destdir$confdir/qrscpd.yaml"
    fi
fi

# Only on a live system booted with systemd (sd_booted(3): /run/systemd/system exists).
if [ -z "$destdir" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    systemctl daemon-reload
fi

cat <<MSG

Next steps:
  systemctl enable --now qrscpd.service     # the daemon binds port 104 itself
or, with socket activation (systemd binds port 104 and starts qrscpd on the first connection):
  systemctl enable --now qrscpd.socket
Then: systemctl status qrscpd; journalctl -u qrscpd -f
MSG
