"""A Python client for Cadenza over OSC, with python-osc only.

    cadenza serve                      # in one terminal
    python client.py                   # in another: continues a C major arpeggio, writes reply.mid

    python client.py --port 9000 --beats 16 --temperature 0.9 --out reply.mid
"""
from __future__ import annotations

import argparse
import socket
import sys
import time

from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

PRIME = [(60, 0, 1, 90), (64, 1, 1, 90), (67, 2, 1, 90), (72, 3, 1, 100)]  # pitch, start, dur (beats), velocity


def message(address: str, *args) -> bytes:
    b = OscMessageBuilder(address=address)
    for a in args:
        b.add_arg(a)
    return b.build().dgram


def continue_notes(prime, host="127.0.0.1", port=9000, timeout=30.0, **settings):
    """Send a prime, return (notes, midi_bytes): notes as (pitch, start_beats, dur_beats, velocity)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1" if host in ("127.0.0.1", "localhost") else "0.0.0.0", 0))
    sock.settimeout(0.2)
    rid = int(time.time()) % 100000
    args = [rid] + [x for note in prime for x in note]
    for key, value in settings.items():
        args += [key, value]
    sock.sendto(message("/cadenza/continue", *args), (host, port))
    notes, midi = [], None
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            data, _ = sock.recvfrom(65536)
        except socket.timeout:
            continue
        for m in OscPacket(data).messages:
            address, params = m.message.address, list(m.message.params)
            if not params or params[0] != rid:
                continue
            if address == "/cadenza/notes":
                flat = params[1:]
                notes += [tuple(flat[i:i + 4]) for i in range(0, len(flat), 4)]
            elif address == "/cadenza/midi":
                midi = params[1]
            elif address == "/cadenza/error":
                raise RuntimeError(params[1])
            elif address == "/cadenza/done":
                return notes, midi
    raise TimeoutError(f"no reply from Cadenza on {host}:{port} within {timeout} s: is `cadenza serve` running?")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--beats", type=float, default=8)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--model", default="")
    p.add_argument("--out", default="reply.mid", help="where to write the MIDI file of the reply")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the reply")
    a = p.parse_args()
    settings = {"beats": a.beats, "temperature": a.temperature}
    if a.model:
        settings["model"] = a.model
    try:
        notes, midi = continue_notes(PRIME, a.host, a.port, timeout=a.timeout, **settings)
    except (RuntimeError, TimeoutError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for pitch, start, dur, vel in notes:
        print(f"{start:7.3f}  {dur:6.3f}  pitch {pitch:3d}  velocity {vel:3d}")
    if midi:
        with open(a.out, "wb") as f:
            f.write(midi)
        print(f"{len(notes)} notes; MIDI written to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
