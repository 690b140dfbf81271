"""The model store: each model is a folder, `model.keras` + `cadenza.json`, self-describing.

`cadenza.json` holds everything needed to use the model with nothing else: the architecture and its
arguments, the codec and its parameters, the corpus and its licence, the split (including the
generation set whose pieces were never trained on and supply primes), and measured metrics.

Models are looked up by name in `models/` of this repository and in the user folder
(`$CADENZA_MODELS`, default `~/.cadenza/models`), or by a path to a model folder. Loading uses
Keras safe mode: a model file never runs code.
"""
from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import CadenzaError, did_you_mean

REPO_MODELS = Path(__file__).resolve().parent.parent / "models"
META = "cadenza.json"
WEIGHTS = "model.keras"


def user_models() -> Path:
    return Path(os.environ.get("CADENZA_MODELS", Path.home() / ".cadenza" / "models"))


def search_path() -> list[Path]:
    return [REPO_MODELS, user_models()]


def find(name: str, paths: bool = True) -> Path:
    """The folder of a model given by name (looked up in the search path) or, when `paths` (names from
    the command line or config, not from the network), by a path to its folder."""
    try:
        if paths and (Path(name) / META).is_file():
            return Path(name)
        if "/" not in name and "\\" not in name and name not in ("", ".", ".."):
            for root in search_path():
                if (root / name / META).is_file():
                    return root / name
    except (OSError, ValueError):  # a name too long for the file system, or with a NUL in it
        pass
    names = [m["name"] for m in list_models()]
    shown = name if len(name) <= 40 else name[:36] + "..."
    raise CadenzaError(f"no model {shown!r}{did_you_mean(name, names)} (models here: {', '.join(names) or 'none'}; "
                       "`cadenza models` shows where they are)")


def list_models() -> list[dict]:
    seen = {}
    for root in search_path():
        if not root.is_dir():
            continue
        for d in sorted(root.iterdir()):
            if (d / META).is_file() and d.name not in seen:
                try:
                    meta = json.loads((d / META).read_text())
                except ValueError:
                    meta = {}
                seen[d.name] = {"name": d.name, "path": str(d), "codec": meta.get("codec", {}).get("name"),
                                "arch": meta.get("arch", {}).get("name"), "metrics": meta.get("metrics", {})}
    return list(seen.values())


def read_meta(folder: Path) -> dict:
    try:
        meta = json.loads((folder / META).read_text())
    except (OSError, ValueError) as e:
        raise CadenzaError(f"{folder / META}: unreadable model description ({e})") from None
    for key in ("arch", "codec"):
        if key not in meta:
            raise CadenzaError(f"{folder / META}: incompatible model description (no {key!r})")
    return meta


def corpus_roots(meta: dict) -> list[Path]:
    """Where a model's corpus may be on this machine, likeliest first: the folders it was trained on as its card
    gives them relative to the checkout (../shared/corpus/..., beside it), then as the training machine had them
    (corpus.paths), then relative to the working folder. A joined model's are its members'."""
    training = meta.get("training", {}) or {}
    data = training.get("data") or []
    data = [data] if isinstance(data, str) else list(data)
    data += [m["data"] for m in training.get("members", []) or [] if isinstance(m, dict) and m.get("data")]
    here = Path(__file__).resolve().parent.parent
    roots = [(here / d).resolve() for d in data if not Path(d).is_absolute()]
    roots += [Path(p) for p in meta.get("corpus", {}).get("paths", [])] + [Path(d) for d in data]
    return list(dict.fromkeys(roots))


def corpus_folder(meta: dict) -> Path:
    """The first folder of `corpus_roots` that is here."""
    found = next((r for r in corpus_roots(meta) if r.is_dir()), None)
    if found is None:
        where = ", ".join(str(r) for r in corpus_roots(meta)) or "nowhere"
        raise CadenzaError(f"model {meta.get('name')!r}: its corpus is not on this machine (looked in {where})")
    return found


@dataclass
class LoadedModel:
    name: str
    folder: Path
    meta: dict
    keras: Any  # the keras.Model, or None until something asks for it (generation needs only `arrays`)
    codec: Any  # bridge.codecs.Codec
    mtime: float = 0.0
    _arrays: Any = None  # bridge.arrays.Arrays
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def arch(self) -> str:
        return self.meta["arch"]["name"]

    @property
    def model(self):
        """The Keras model (loaded in safe mode on first use: training, evaluation and benchmarks use it)."""
        with self._lock:
            if self.keras is None:
                self.keras = _load_keras(self.folder, self.meta)
            return self.keras

    @property
    def arrays(self):
        """The weights as arrays, by layer name: all that generation reads."""
        if self._arrays is None:
            from .arrays import Arrays

            self._arrays = Arrays.of(self.model)
        return self._arrays


def _load_keras(folder: Path, meta: dict):
    import keras

    from . import nets

    nets._module(meta["arch"]["name"])  # imports the architecture, registering its layers for safe mode
    try:
        return keras.saving.load_model(folder / WEIGHTS, compile=False, safe_mode=True)
    except Exception as e:  # Keras raises many types for corrupt or foreign files; name the file
        raise CadenzaError(f"{folder.name}/{WEIGHTS}: cannot load model ({e})") from None


def load(name: str, paths: bool = True) -> LoadedModel:
    """Load a model by name or path. Raises CadenzaError naming what is wrong.

    The weights come from the array cache when the `.keras` file was read before (no TensorFlow:
    bridge/arrays.py); else the file is loaded by Keras in safe mode (no code from it runs), checked,
    and its arrays cached for the next time."""
    from .arrays import Arrays, cache_dir, digest

    folder = find(name, paths)
    meta = read_meta(folder)
    from .codecs import from_description

    codec = from_description(meta["codec"])
    weights = folder / WEIGHTS
    if not weights.is_file():
        raise CadenzaError(f"{folder.name}: no {WEIGHTS}")
    cache = cache_dir() / f"{digest(weights)[:32]}.npz"
    keras_model = None
    arrays = Arrays.read(cache) if cache.is_file() else None
    if arrays is None:
        keras_model = _load_keras(folder, meta)
        arrays = Arrays.of(keras_model)
        try:
            arrays.write(cache)
        except OSError:  # a read-only home: generation works the same, the next start loads Keras again
            pass
    expected = meta["codec"].get("vocab_size")
    if expected and arrays.has("logits") and arrays.get("logits")[-1].shape[-1] != expected:
        raise CadenzaError(f"{folder.name}: model predicts {arrays.get('logits')[-1].shape[-1]} tokens but its "
                           f"codec has {expected}")
    return LoadedModel(name=folder.name, folder=folder, meta=meta, keras=keras_model, codec=codec,
                       mtime=max(weights.stat().st_mtime, (folder / META).stat().st_mtime), _arrays=arrays)


def save(folder: Path, model, meta: dict) -> Path:
    """Write model.keras and cadenza.json so that a reader never sees half a model."""
    from .music import atomic_write_text

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{WEIGHTS}.part.keras"
    model.save(tmp)
    os.replace(tmp, folder / WEIGHTS)
    atomic_write_text(folder / META, json.dumps(meta, indent=1) + "\n")
    return folder
