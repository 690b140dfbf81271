#!/usr/bin/env bash
# Continue three notes with Cadenza from a shell, using liblo's oscsend and oscdump
# (Debian/Ubuntu: apt install liblo-tools; macOS: brew install liblo).
#
#   cadenza serve &          # OSC on 127.0.0.1:9000
#   ./continue.sh            # prints the reply: started, notes, file, midi, done
#
# oscsend sends each message from a new port, so the request names the port to reply to.
set -euo pipefail
PORT=${CADENZA_PORT:-9000}
REPLY=${REPLY_PORT:-9001}
oscdump -L "$REPLY" > "${TMPDIR:-/tmp}/cadenza-reply.$$" &
dump=$!
trap 'kill $dump 2>/dev/null; rm -f "${TMPDIR:-/tmp}/cadenza-reply.$$"' EXIT
sleep 0.3
# id, then (pitch, start beats, duration beats, velocity) per note, then settings as key value pairs
oscsend localhost "$PORT" /cadenza/continue iiffiiffiiffisisf \
  1  60 0 1 90  64 1 1 90  67 2 1 90  reply_port "$REPLY"  beats 8
for _ in $(seq 1 300); do
  grep -q "/cadenza/done\|/cadenza/error" "${TMPDIR:-/tmp}/cadenza-reply.$$" && break
  sleep 0.1
done
cat "${TMPDIR:-/tmp}/cadenza-reply.$$"
