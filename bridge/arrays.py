"""A model's weights as plain arrays: what generation reads, with no Keras or TensorFlow.

Keras stores, loads and validates a model (store.py, in safe mode); the compiled generators only need
its layers' weight arrays, by layer name, and a few facts of some layers (the attention's heads and
window). `Arrays.of(model)` takes them from a loaded Keras model once; they are then kept in a cache
file beside the user's other caches, named by the SHA-256 of the `.keras` file they came from, so a
daemon that starts again reads them in milliseconds without importing TensorFlow (and without its
~500 MB). The cache is an `.npz` of arrays and one JSON string, read with `allow_pickle=False`: it
can carry no code.
"""
from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FORMAT = 1


def cache_dir() -> Path:
    from . import caches

    return Path(caches.cache_root()) / "weights"


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class Arrays:
    names: list[str]  # layers with weights, in the model's order
    layers: dict[str, list[np.ndarray]]
    attrs: dict[str, dict] = field(default_factory=dict)  # per layer: facts that are not weights

    def get(self, name: str) -> list[np.ndarray]:
        try:
            return self.layers[name]
        except KeyError:
            raise KeyError(f"the model has no layer {name!r} with weights (layers: {', '.join(self.names)})") from None

    def has(self, name: str) -> bool:
        return name in self.layers

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for ws in self.layers.values() for a in ws)

    @classmethod
    def of(cls, model) -> "Arrays":
        """From a loaded Keras model: every layer's weights; `export_attrs()` of layers that have it."""
        names, layers, attrs = [], {}, {}
        for layer in model.layers:
            ws = layer.get_weights()
            if hasattr(layer, "export_attrs"):
                attrs[layer.name] = layer.export_attrs()
            if ws:
                names.append(layer.name)
                layers[layer.name] = [np.asarray(w) for w in ws]
        return cls(names, layers, attrs)

    def write(self, path: Path) -> None:
        """Atomically: a reader never sees half a cache."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {f"{k}/{i}": w for k, ws in self.layers.items() for i, w in enumerate(ws)}
        meta = {"format": FORMAT, "names": self.names, "counts": [len(self.layers[n]) for n in self.names],
                "attrs": self.attrs}
        tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        with open(tmp, "wb") as f:
            np.savez(f, __meta__=np.array(json.dumps(meta)), **data)
        os.replace(tmp, path)

    @classmethod
    def read(cls, path: Path) -> "Arrays | None":
        """A cache written by `write`, or None when it is missing, foreign or damaged."""
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["__meta__"]))
                if meta.get("format") != FORMAT:
                    return None
                layers = {n: [z[f"{n}/{i}"] for i in range(c)] for n, c in zip(meta["names"], meta["counts"])}
            return cls(list(meta["names"]), layers, meta.get("attrs", {}))
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
            return None
