"""Where Cadenza keeps what it caches: one folder ($CADENZA_CACHE, else $XDG_CACHE_HOME/cadenza, else
~/.cache/cadenza) holding the model arrays (`weights`), the notation read (`notation`) and numba's compiled
kernels (`numba/<key>`, unless $NUMBA_CACHE_DIR says), each keyed by what decides it.

numba checks a cached kernel against its own source file only: a kernel that calls one in another file
(harmonize's and the messages model's loops call kernels.py's products and draws) would keep the machine code of
the old callee after an upgrade changed it, and play with it. So the kernels' folder is named by a digest of
every file with kernels in it: any change to one compiles them all again, once (`cadenza warm`), into a new
folder.
"""
from __future__ import annotations

import hashlib
import os

KERNEL_FILES = ("generation/kernels.py", "generation/int16.py", "generation/harmonize_kernels.py",
                "generation/messages_kernels.py",
                "music/_fast.py")


def cache_root() -> str:
    return os.environ.get("CADENZA_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "cadenza")


def source_digest(names, root: str | None = None) -> str:
    """A digest (12 hex digits) of these files under `root` (this package's folder by default): what code
    decides a cached thing."""
    root = root or os.path.dirname(os.path.abspath(__file__))
    h = hashlib.sha256()
    for name in names:
        h.update(name.encode())
        with open(os.path.join(root, name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:12]


def kernel_folder() -> str:
    return os.path.join(cache_root(), "numba", source_digest(KERNEL_FILES))


def kernels_cached(loop: str = "kernels.chunk") -> bool:
    """Whether numba's kernel folder holds this generation loop compiled (`kernels.chunk`, the lstm and rnn models';
    `messages_kernels.chunk`, the attention-LSTM's): the most of what a first run compiles, ~20-45 s. On a new machine
    or path, and after an upgrade (a new folder), it is not there until that run or `cadenza warm` compiles it."""
    for _root, _dirs, files in os.walk(os.environ.get("NUMBA_CACHE_DIR") or kernel_folder()):
        if any(f.startswith(loop + "-") and f.endswith(".nbi") for f in files):
            return True
    return False


def use_kernel_cache() -> None:
    """Point numba at the folder of these kernels (before numba is imported), unless one is set; and let one
    process at a time add a kernel to it (`_one_writer`)."""
    if "NUMBA_CACHE_DIR" not in os.environ:
        os.environ["NUMBA_CACHE_DIR"] = kernel_folder()
    _one_writer()


_ONE_WRITER = False


def _one_writer() -> None:
    """numba adds a compiled version of a kernel to its cache by reading the kernel's index, taking the first data
    file number the index does not name, and writing the index and the data. Two processes that compile versions
    of one kernel at once (`cadenza warm` compiles the messages model's kernels in a second process, and both
    reach kernels.py's draw and exp; a daemon may start while it runs) could take the same number, and the index
    one wrote would name the machine code the other wrote. So that read, choice and write are made under an
    exclusive lock on a file beside the index (fcntl; on a system without it, as numba does)."""
    global _ONE_WRITER
    if _ONE_WRITER:
        return
    try:
        import fcntl

        from numba.core import caching
    except ImportError:
        return
    save = caching.IndexDataCacheFile.save

    def locked(self, key, data):
        try:
            lock = open(self._index_path + ".lock", "a")
        except OSError:
            return save(self, key, data)
        with lock:  # (closing it lets go of the lock)
            fcntl.flock(lock, fcntl.LOCK_EX)
            return save(self, key, data)

    caching.IndexDataCacheFile.save = locked
    _ONE_WRITER = True
