"""Who may ask, what they may read, and what they are told: the allowlist, path confinement and error redaction.

One place for the three rules every door of the daemon applies to what comes from the network.
"""
from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from ..errors import CadenzaError
from ..settings import short

_ABSOLUTE = re.compile(r"(^|[\s'\"(=])(/(?!cadenza/)[^\s'\":,()]+)")  # an absolute path (not an OSC address)


class Refused(CadenzaError):
    """A path or a client this daemon does not serve; the text says why, in the client's terms."""


class Allowlist:
    """Client addresses or networks admitted (empty: any that reach the daemon)."""

    def __init__(self, allow: list[str] | None = None):
        self.networks = [ipaddress.ip_network(a, strict=False) for a in (allow or [])]

    def __bool__(self) -> bool:
        return bool(self.networks)

    def allowed(self, host: str) -> bool:
        if not self.networks:
            return True
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(ip in net for net in self.networks)


class Folders:
    """The daemon's folders: where a path from the network may point, and how errors name them."""

    def __init__(self, inbox: Path, outbox: Path, allowed_dirs: list):
        self.inbox, self.outbox = Path(inbox), Path(outbox)
        self.allowed_dirs = [Path(d) for d in allowed_dirs]

    def confined(self, text: str) -> Path:
        """A path from the network, allowed only inside the inbox or the configured folders."""
        roots = [self.inbox.resolve()] + [d.resolve() for d in self.allowed_dirs]
        if len(text) > 1024 or "\0" in text:
            raise Refused(f"{short(text)}: not a file name this daemon can read")
        try:
            raw = Path(text)
            path = (raw if raw.is_absolute() else roots[0] / raw).resolve()
            inside = any(path == r or r in path.parents for r in roots)
            exists = inside and path.is_file()
        except (OSError, ValueError, RuntimeError) as e:  # too long a name, a link loop
            raise Refused(f"{short(text)}: not a file this daemon can read "
                          f"({getattr(e, 'strerror', None) or 'bad name'})") from None
        if not inside:
            raise Refused(f"{short(text)}: outside the folders this daemon may read "
                          "(the inbox and the --allow-dir folders)")
        if not exists:
            raise Refused(f"{short(text)}: no such file")
        return path

    def public(self, message: str) -> str:
        """An error as a client may see it: the inbox, outbox, allowed folders and model store as short
        names, any other absolute path as its file name."""
        from .. import store

        roots = [(self.inbox, "inbox"), (self.outbox, "outbox")] + [(d, d.name) for d in self.allowed_dirs]
        roots += [(r, "models") for r in store.search_path()]
        for root, label in roots:
            for form in {str(root.resolve()), str(root.absolute()), str(root)}:
                if len(form) > 1:
                    message = message.replace(form, label)
        return _ABSOLUTE.sub(lambda m: m.group(1) + Path(m.group(2)).name, message)[:1000]
