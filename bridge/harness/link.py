"""A second Ableton Link peer: Cadenza's LinkClock and an aalink peer in a process of their own, inside a network
namespace made for it (`unshare -n`: Link's multicast never reaches the machine's own network). The
figures: tempo and phase agreement, and how soon a start/stop on one peer reaches the other."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

LINK_CHILD = r'''
import asyncio, json, sys, time
sys.path.insert(0, {root!r})
from bridge.host.link import LinkClock
from aalink import Link
cadenza = LinkClock(120.0)
cadenza.start()
out = {{}}
async def main():
    other = Link(120.0)
    other.enabled = True
    other.start_stop_sync_enabled = True
    for _ in range(100):
        await asyncio.sleep(0.05)
        if other.num_peers and cadenza.peers:
            break
    out["peers"] = [other.num_peers, cadenza.peers]
    other.tempo = 93.0  # a tempo change on the other peer reaches Cadenza
    await asyncio.sleep(0.5)
    out["tempo_after_change"] = [other.tempo, cadenza.qpm]
    diffs = []
    for _ in range(500):
        await asyncio.sleep(0.002)
        diffs.append(abs(other.beat - cadenza.beat_at()) * 60 / other.tempo)
    diffs.sort()
    out["phase_difference_ms"] = {{"p50": round(diffs[len(diffs) // 2] * 1000, 3), "p99": round(diffs[int(len(diffs) * .99)] * 1000, 3)}}
    delays = []
    for k in range(10):
        t = time.monotonic()
        other.playing = not other.playing
        want = other.playing
        while cadenza.playing != want and time.monotonic() - t < 2:
            await asyncio.sleep(0.0005)
        delays.append(time.monotonic() - t)
    delays.sort()
    out["start_stop_delay_ms"] = {{"p50": round(delays[len(delays) // 2] * 1000, 3), "max": round(delays[-1] * 1000, 3)}}
asyncio.run(main())
cadenza.stop()
print(json.dumps(out))
'''


def link_figures() -> dict:
    import importlib.util

    if importlib.util.find_spec("aalink") is None:
        return {"skipped": "aalink is not installed (pip install 'cadenza[link]')"}
    if not shutil.which("unshare"):
        return {"skipped": "unshare is not here"}
    root = Path(__file__).resolve().parents[2]  # the checkout this bridge/ is in
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "link.py"
        script.write_text(LINK_CHILD.format(root=str(root)))
        setup = "ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo"
        r = subprocess.run(["unshare", "-n", "sh", "-c", f"{setup} && {sys.executable} {script}"],
                           capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if r.returncode != 0:
        return {"skipped": f"no network namespace here: {r.stderr.strip()[-200:]}"}
    return json.loads(r.stdout.strip().splitlines()[-1])
