"""OSC over UDP: a socket loop, parsing with python-osc, dispatch by address, replies.

python-osc's own servers sleep in the handler until a bundle's time tag and drop malformed
packets silently; this loop does neither. Every message of a bundle is dispatched at once (a
generation request gains nothing from waiting), a packet that does not parse gets
`/cadenza/error 0 "malformed OSC packet ..."` back, and handlers never block: they parse and queue.
"""
from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from typing import Callable

from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket, ParseError

from .protocol import ProtocolError

log = logging.getLogger("cadenza.osc")

Handler = Callable[[tuple, list], None]


def build_message(address: str, args: list) -> bytes:
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
        self.allow = [ipaddress.ip_network(a, strict=False) for a in (allow or [])]
        self._stop = threading.Event()
        self._send_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.on_error = on_error
        self.received = 0
        self.malformed = 0

    # ----- sending --------------------------------------------------------------------------------
    def send(self, to: tuple, address: str, args: list) -> None:
        data = build_message(address, args)
        with self._send_lock:
            try:
                self.sock.sendto(data, to)
            except OSError as e:  # an unreachable client must not stop the daemon
                log.warning("cannot reply to %s:%s (%s): %s", to[0], to[1], address, e)

    # ----- receiving ------------------------------------------------------------------------------
    def allowed(self, host: str) -> bool:
        if not self.allow:
            return True
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(ip in net for net in self.allow)

    def handle(self, data: bytes, sender: tuple) -> None:
        self.received += 1
        if not self.allowed(sender[0]):
            log.warning("ignored a packet from %s: not in the client allowlist", sender[0])
            return
        try:
            messages = OscPacket(data).messages
        except (ParseError, IndexError, ValueError, TypeError, OverflowError) as e:
            self.malformed += 1
            log.warning("malformed packet from %s:%s (%d bytes): %s", sender[0], sender[1], len(data), e)
            self._error(sender, 0, f"malformed OSC packet ({len(data)} bytes): {e}", [])
            return
        for timed in messages:
            msg = timed.message
            handler = self.routes.get(msg.address)
            params = list(msg.params)
            if handler is None:
                rid = params[0] if params and isinstance(params[0], int) else 0
                self._error(sender, rid, f"unknown address {msg.address}", params)
                continue
            try:
                handler(sender, params)
            except ProtocolError as e:
                rid = params[0] if params and isinstance(params[0], int) else 0
                self._error(sender, rid, str(e), params)
            except Exception as e:  # noqa: BLE001 - a handler bug answers the client and is logged, never fatal
                log.exception("handler for %s failed", msg.address)
                rid = params[0] if params and isinstance(params[0], int) else 0
                self._error(sender, rid, f"internal error: {type(e).__name__}: {e}", params)

    def _error(self, sender: tuple, rid: int, message: str, params: list) -> None:
        if self.on_error is not None:
            self.on_error(sender, rid, message, params)
        else:
            self.send(sender, "/cadenza/error", [rid, message])

    def serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, sender = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                if self._stop.is_set():
                    break
                continue
            self.handle(data, sender[:2])

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve, name="cadenza-osc", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        self.sock.close()
