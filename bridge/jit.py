"""Where numba keeps Cadenza's compiled kernels: numba/<key> in Cadenza's cache folder ($CADENZA_CACHE, else
$XDG_CACHE_HOME/cadenza, else ~/.cache/cadenza), unless $NUMBA_CACHE_DIR says.

numba checks a cached kernel against its own source file only: a kernel that calls one in another file
(harmonize's and the messages model's loops call kernels.py's products and draws) would keep the machine code of
the old callee after an upgrade changed it, and play with it. So the folder is named by a digest of every file
with kernels in it: any change to one compiles them all again, once (`cadenza warm`), into a new folder.
"""
from __future__ import annotations

import hashlib
import os

KERNEL_FILES = ("generation/kernels.py", "generation/harmonize_kernels.py", "generation/messages_kernels.py",
                "music/_fast.py")


def key(root: str | None = None) -> str:
    """The digest (12 hex digits) of the kernel files under `root` (this package's folder by default)."""
    root = root or os.path.dirname(os.path.abspath(__file__))
    h = hashlib.sha256()
    for name in KERNEL_FILES:
        h.update(name.encode())
        with open(os.path.join(root, name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:12]


def cache_root() -> str:
    """Cadenza's cache folder (model arrays, compiled kernels, notation read)."""
    return os.environ.get("CADENZA_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "cadenza")


def cache_folder() -> str:
    return os.path.join(cache_root(), "numba", key())


def use_cache() -> None:
    """Point numba at the cache folder of these kernels (before numba is imported), unless one is set."""
    if "NUMBA_CACHE_DIR" not in os.environ:
        os.environ["NUMBA_CACHE_DIR"] = cache_folder()
