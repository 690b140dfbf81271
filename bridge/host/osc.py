"""OSC over UDP: a socket loop, parsing with python-osc, dispatch by address, replies.

python-osc's own servers sleep in the handler until a bundle's time tag and drop malformed
packets silently; this loop does neither. Every message of a bundle is dispatched at once (a
generation request gains nothing from waiting), a packet that does not parse gets
`/cadenza/error 0 "malformed OSC packet ..."` back, and handlers never block: they parse and queue.

What one datagram can make this loop do is bounded (docs/security.md):
- a bundle's nesting and message count are checked before python-osc parses it (its parser recurses);
- at most one error reply per datagram, and none to a datagram that is itself a reply (an error is
  never answered with an error), so two daemons, or a daemon and itself, cannot ping-pong;
- no reply ever goes to this daemon's own socket;
- whatever a handler raises is answered and logged; the loop itself never dies of a packet, and if
  it ever stops for another reason, `alive` turns false and `cadenza serve` exits non-zero.
"""
from __future__ import annotations

import ipaddress
import logging
import socket
import struct
import threading
from typing import Callable

from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

from ..errors import CadenzaError, did_you_mean
from .access import Allowlist

log = logging.getLogger("cadenza.osc")

Handler = Callable[[tuple, list], None]

MAX_DEPTH = 4  # bundles inside bundles
MAX_MESSAGES = 64  # messages in one datagram
# what the daemon sends: a datagram carrying one of these is a reply (e.g. our own, looped back), never answered
REPLIES = frozenset(f"/cadenza/{a}" for a in (
    "error", "pong", "ok", "status", "models", "loaded", "started", "notes", "file", "midi", "audio", "picture",
    "done", "cancelled", "rendered", "variation", "info"))


def is_reply(address: str, params: list) -> bool:
    """Whether a message is something a daemon sends. /cadenza/models and /cadenza/status are also
    requests: as requests they carry an id and at most key value pairs, as replies names or "ok"."""
    if address in ("/cadenza/models", "/cadenza/status"):
        return len(params) > 1 and isinstance(params[1], str) and params[1] not in ("reply_host", "reply_port")
    return address in REPLIES or address == "/cadenza/play" or address.startswith("/cadenza/jam/")


class Refused(Exception):
    """A datagram refused before parsing; the text says why."""


def check_shape(data: bytes) -> None:
    """Walk a datagram's bundle structure without recursion: refuse deep nesting or too many messages."""
    stack = [(data, 0)]
    messages = 0
    while stack:
        dgram, depth = stack.pop()
        if not dgram.startswith(b"#bundle\0"):
            messages += 1
            if messages > MAX_MESSAGES:
                raise Refused(f"more than {MAX_MESSAGES} messages in one datagram")
            continue
        if depth >= MAX_DEPTH:
            raise Refused(f"bundles nested more than {MAX_DEPTH} deep")
        i = 16  # "#bundle\0" and the time tag
        if len(dgram) < i:
            raise Refused("a bundle shorter than its header")
        while i < len(dgram):
            if i + 4 > len(dgram):
                raise Refused("a bundle element without its size")
            size = int.from_bytes(dgram[i:i + 4], "big", signed=True)
            if size <= 0 or size % 4 or i + 4 + size > len(dgram):
                raise Refused(f"a bundle element of {size} bytes does not fit the datagram")
            stack.append((dgram[i + 4:i + 4 + size], depth + 1))
            i += 4 + size


def _osc_string(text: str) -> bytes:
    data = text.encode("utf-8")
    return data + b"\0" * (4 - len(data) % 4)  # NUL-terminated, padded to four bytes (one to four NULs)


_TAGS = {int: "i", float: "f", bool: "i"}  # the plain numbers' type tags (a note's pitch, start, duration, velocity)


def build_message(address: str, args: list) -> bytes:
    """One OSC message. Numbers alone (the notes a chunk streams: up to 128 of them) are packed at once, the
    same bytes python-osc's builder writes (tests/host/test_osc.py), in a tenth of its time: plain ints and
    floats tagged by their type in one pass (an int past 32 bits fails the packing and goes the long way)."""
    try:
        tags = "".join([_TAGS[type(a)] for a in args])
        return _osc_string(address) + _osc_string("," + tags) + struct.pack(">" + tags, *args)
    except (KeyError, struct.error):
        pass
    tags, fmt = [","], [">"]
    for a in args:
        if isinstance(a, bool) or (isinstance(a, int) and -2**31 <= a < 2**31):
            tags.append("i")
            fmt.append("i")
        elif isinstance(a, float):
            tags.append("f")
            fmt.append("f")
        else:
            break
    else:
        return _osc_string(address) + _osc_string("".join(tags)) + struct.pack("".join(fmt), *args)
    b = OscMessageBuilder(address=address)
    for a in args:
        if isinstance(a, bool):
            b.add_arg(int(a), "i")
        elif isinstance(a, int):
            b.add_arg(a, "i" if -2**31 <= a < 2**31 else "h")
        elif isinstance(a, float):
            b.add_arg(a, "f")
        elif isinstance(a, (bytes, bytearray)):
            b.add_arg(bytes(a), "b")
        else:
            b.add_arg(str(a), "s")
    return b.build().dgram


class OscServer:
    def __init__(self, host: str, port: int, routes: dict[str, Handler], allow: list[str] | None = None,
                 on_error: Callable[[tuple, int, str, list], None] | None = None):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        try:
            self.sock.bind((host, port))
        except OSError as e:
            raise OSError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
        self.sock.settimeout(0.2)
        self.address = self.sock.getsockname()[:2]
        self.routes = routes
        self.allowlist = Allowlist(allow)
        self._stop = threading.Event()
        self._send_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.on_error = on_error
        self.received = 0
        self.malformed = 0
        self.sent = 0
        self.dropped = 0  # replies not sent: to ourselves, or answers to replies
        self.failure: BaseException | None = None  # why the receive loop ended, if it ended by itself

    # ----- sending --------------------------------------------------------------------------------
    def is_self(self, to: tuple) -> bool:
        """Whether `to` is this daemon's own socket (a reply there would be read back as a request)."""
        host, port = self.address
        if int(to[1]) != int(port):
            return False
        try:
            ip = ipaddress.ip_address(to[0])
        except ValueError:
            return True  # not an address we would send to anyway
        return ip.is_loopback or ip.is_unspecified or str(ip) == host or host in ("0.0.0.0", "::")

    def send_raw(self, to: tuple, data: bytes) -> bool:
        """A datagram built elsewhere (a time-tagged bundle), under the same rules as send()."""
        if self.is_self(to):
            self.dropped += 1
            return False
        with self._send_lock:
            try:
                self.sock.sendto(data, to)
            except (OSError, TypeError, ValueError, OverflowError) as e:
                log.warning("cannot reply to %r:%r: %s", to[0], to[1], e)
                return False
        self.sent += 1
        return True

    def send(self, to: tuple, address: str, args: list) -> bool:
        """Send one message; False (and a log line) when it cannot go, never an exception."""
        if self.is_self(to):
            self.dropped += 1
            log.warning("not replying %s to this daemon's own port %s", address, to[1])
            return False
        try:
            data = build_message(address, args)
        except Exception as e:  # noqa: BLE001 - an argument python-osc cannot encode: say so, keep serving
            log.warning("cannot encode %s for %s:%s: %s", address, to[0], to[1], e)
            return False
        with self._send_lock:
            try:
                self.sock.sendto(data, to)
            except (OSError, TypeError, ValueError, UnicodeError, OverflowError) as e:
                log.warning("cannot reply to %r:%r (%s): %s", to[0], to[1], address, e)
                return False
        self.sent += 1
        return True

    # ----- receiving ------------------------------------------------------------------------------
    def allowed(self, host: str) -> bool:
        return self.allowlist.allowed(host)

    def handle(self, data: bytes, sender: tuple) -> None:
        self.received += 1
        if not self.allowed(sender[0]):
            log.warning("ignored a packet from %s: not in the client allowlist", sender[0])
            return
        try:
            check_shape(data)
            messages = OscPacket(data).messages
        except Exception as e:  # noqa: BLE001 - Refused, or whatever python-osc raises on bad bytes
            self.malformed += 1
            log.warning("malformed packet from %s:%s (%d bytes): %s", sender[0], sender[1], len(data), e)
            if data.split(b"\0", 1)[0].decode("latin-1") not in REPLIES:
                self._error(sender, 0, f"malformed OSC packet ({len(data)} bytes): {str(e)[:200]}", [])
            return
        answered = False  # at most one error reply per datagram
        for timed in messages:
            msg = timed.message
            params = list(msg.params)
            if is_reply(msg.address, params):  # a reply (ours looped back, or another daemon's): never answered
                self.dropped += 1
                continue
            handler = self.routes.get(msg.address)
            rid = params[0] if params and isinstance(params[0], int) and -2**31 <= params[0] < 2**31 else 0
            problem = None
            if handler is None:
                problem = f"unknown address {msg.address[:80]}{did_you_mean(msg.address, self.routes)}"
            else:
                try:
                    handler(sender, params)
                except CadenzaError as e:  # a refusal (protocol, settings, a file): its text names the problem
                    problem = str(e)
                except Exception:  # noqa: BLE001 - a handler bug answers the client and is logged, never fatal
                    log.exception("handler for %s failed", msg.address)
                    problem = f"internal error handling {msg.address}; the daemon's log has the details"
            if problem is not None:
                if answered:
                    log.info("more errors in one datagram from %s:%s: %s", sender[0], sender[1], problem)
                    continue
                answered = True
                self._error(sender, rid, problem, params)

    def _error(self, sender: tuple, rid: int, message: str, params: list) -> None:
        if self.on_error is not None:
            self.on_error(sender, rid, message, params)
        else:
            self.send(sender, "/cadenza/error", [rid, message])

    def serve(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    data, sender = self.sock.recvfrom(65536)
                except socket.timeout:
                    continue
                except OSError:
                    if self._stop.is_set():
                        break
                    continue
                try:
                    self.handle(data, sender[:2])
                except Exception:  # noqa: BLE001 - no datagram may end this loop
                    log.exception("packet from %s:%s not handled", *sender[:2])
        except BaseException as e:  # noqa: BLE001 - recorded: `cadenza serve` sees `alive` false and exits 1
            self.failure = e
            log.critical("the OSC receive loop stopped: %r", e)
            raise

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve, name="cadenza-osc", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        self.sock.close()
