"""`--record`: a benchmark's figures written into the measured model's cadenza.json (under `metrics`),
with the command that made them and the machine, so a shipped model carries what was measured of it."""
from __future__ import annotations

import json
import os
import platform
import sys


def record(model: str, key: str, figures: dict) -> str:
    from .. import store
    from ..music import atomic_write_text

    folder = store.find(model)
    path = folder / store.META
    meta = json.loads(path.read_text())
    gpu = "no GPU"
    meta.setdefault("metrics", {})[key] = {
        "command": "cadenza " + " ".join(a for a in sys.argv[1:] if a != "--record"),
        **figures,
        "machine": f"{os.cpu_count()}-core {platform.machine()}, {gpu}",
    }
    atomic_write_text(path, json.dumps(meta, indent=1) + "\n")
    return str(path)
