"""`cadenza serve` settings: defaults here, then a TOML file, then command-line flags, in that order.

    # cadenza.toml
    host = "127.0.0.1"
    port = 9000
    model = "piano"
    inbox = "cadenza/inbox"
    outbox = "cadenza/outbox"
    allow = ["192.168.1.0/24"]     # only with host = "0.0.0.0"
    [watch]                          # defaults for files dropped in the inbox
    beats = 16
    temperature = 1.0
    [jam]                            # jam mode on (as --jam), with these settings for its answers
    model = "chorale"
    temperature = 0.9
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from ..errors import CadenzaError


@dataclass
class ServeConfig:
    host: str = "127.0.0.1"  # loopback only, unless told otherwise
    port: int = 9000  # clear of SuperCollider (57110/57120), Sonic Pi (4560), Wekinator, AbletonOSC
    model: str = "piano"  # the default model
    inbox: Path = Path("cadenza/inbox")  # watched folder: drop files here
    outbox: Path = Path("cadenza/outbox")  # continuations and OSC results are written here
    allowed_dirs: list = field(default_factory=list)  # more folders /cadenza/continue_file may read
    allow: list = field(default_factory=list)  # client addresses or networks allowed (empty: any that reach us)
    queue: int = 16  # requests that may wait; more are answered "busy" at once
    max_tokens: int = 100_000  # a request's cost limit: tokens in all its variations (about 8 s here at worst)
    max_seconds: float = 30.0  # a request running longer is stopped with an error
    http_port: int = 0  # the web page's port (0: no page; `cadenza serve` gives 8000 unless told otherwise)
    midi_in: str = ""  # a MIDI input port to listen to (a name or part of one)
    midi_out: str = ""  # a MIDI output port to play on
    virtual_ports: bool = False  # open "Cadenza in" and "Cadenza out" for other programs to connect to
    midi_api: str = "auto"  # alsa, jack, coremidi, windows or auto
    link: bool = False  # join an Ableton Link session (the optional extra cadenza[link])
    qpm: float = 120.0  # the tempo when no Link session or MIDI clock gives one
    jam: bool = False  # answer the player's phrases on MIDI out, in time
    jam_mode: str = "call"  # call (answer when the player stops) or accompany (answer at every bar line)
    jam_wait: float = 2.0  # beats of silence that end a phrase
    jam_bars: int = 2  # bars of answer
    jam_meter: str = "4/4"
    jam_channel: int = 1  # MIDI channel of the answer, 1-16
    jam_defaults: dict = field(default_factory=dict)  # request settings for jam answers ([jam] in the TOML)
    max_upload_mb: float = 20.0  # the largest file the page takes
    beats: float = 16.0  # default length of new music
    watch: bool = True  # watch the inbox
    watch_defaults: dict = field(default_factory=dict)  # settings for dropped files ([watch] in the TOML)
    log_level: str = "INFO"


def load_toml(path: str | Path) -> dict:
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise CadenzaError(f"{path}: cannot read config: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise CadenzaError(f"{path}: not valid TOML: {e}") from None
    except UnicodeDecodeError:
        raise CadenzaError(f"{path}: not valid TOML: it is not UTF-8 text") from None
    except RecursionError:
        raise CadenzaError(f"{path}: not valid TOML: nested too deeply") from None
    return data


def build_config(toml: dict | None = None, **flags) -> ServeConfig:
    cfg = ServeConfig()
    names = {f.name for f in fields(ServeConfig)}
    values = dict(toml or {})
    if "watch" in values and isinstance(values["watch"], dict):
        values["watch_defaults"] = values.pop("watch")
    if "jam" in values and isinstance(values["jam"], dict):  # a [jam] table: jam mode on, with these settings
        values["jam_defaults"] = values.pop("jam")
        values["jam"] = True
    for key, value in list(values.items()) + [(k, v) for k, v in flags.items() if v is not None]:
        if key not in names:
            raise CadenzaError(f"unknown setting {key!r} in the config; known: {', '.join(sorted(names))}")
        setattr(cfg, key, value)
    cfg.inbox, cfg.outbox = Path(cfg.inbox), Path(cfg.outbox)
    if int(cfg.max_tokens) < 1 or float(cfg.max_seconds) <= 0:
        raise CadenzaError("max_tokens and max_seconds must be positive")
    if cfg.jam_mode not in ("call", "accompany") or not 0 < float(cfg.jam_wait) <= 64 or not 1 <= int(cfg.jam_bars) <= 64 \
            or not 1 <= int(cfg.jam_channel) <= 16 or not 10 <= float(cfg.qpm) <= 400:
        raise CadenzaError("jam: mode call or accompany, wait 0-64 beats, bars 1-64, channel 1-16; qpm 10-400")
    if not 0 <= int(cfg.http_port) < 65536 or not 0 < float(cfg.max_upload_mb) <= 1024:
        raise CadenzaError(f"http_port {cfg.http_port} or max_upload_mb {cfg.max_upload_mb} is out of range")
    if not 0 <= int(cfg.port) < 65536:  # 0: any free port (the ready line says which)
        raise CadenzaError(f"port {cfg.port} is not a UDP port")
    return cfg
