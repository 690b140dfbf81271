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

from ..errors import CadenzaError, did_you_mean
from ..flags import option


@dataclass
class ServeConfig:
    host: str = option("127.0.0.1", "address to listen on (127.0.0.1: this machine only)")
    port: int = option(9000, "UDP port for OSC (0: any free port; the ready line says which)")  # clear of SuperCollider, Sonic Pi, AbletonOSC
    model: str = option("piano", "the default model")
    inbox: Path = option(Path("cadenza/inbox"), "the watched folder: drop files here (default ./cadenza/inbox)")
    outbox: Path = option(Path("cadenza/outbox"), "where continuations and OSC results are written "
                                                  "(default ./cadenza/outbox)")
    allowed_dirs: list = option([], "another folder /cadenza/continue_file may read (repeatable)", flag="--allow-dir",
                               metavar="DIR")
    allow: list = option([], "a client address or network allowed (repeatable; none: any that reach the daemon)",
                        metavar="ADDRESS")
    queue: int = 16  # requests that may wait; more are answered "busy" at once
    max_tokens: int = option(100_000, "a request's cost limit in tokens, all variations together; a request over "
                                      "it is refused before any work")
    max_seconds: float = option(30.0, "a request running longer is stopped with an error")
    http_port: int = option(8000, "the web page's port (0: no page)")
    midi_in: str = option("", "a MIDI input to listen to (a port name or part of one)", group="playing in time (docs/timing.md)")
    midi_out: str = option("", "a MIDI output to play on", group="playing in time (docs/timing.md)")
    virtual_ports: bool = option(False, 'open "Cadenza in" and "Cadenza out" for other programs to connect to',
                                 group="playing in time (docs/timing.md)")
    midi_api: str = option("auto", "alsa, jack, coremidi, windows or auto", group="playing in time (docs/timing.md)")
    link: bool = option(False, "join an Ableton Link session (needs the extra: pip install 'cadenza[link]')",
                        group="playing in time (docs/timing.md)")
    qpm: float = option(120.0, "the tempo when no Link session or MIDI clock gives one", group="playing in time (docs/timing.md)")
    jam: bool = option(False, "answer the player's phrases (MIDI in or /cadenza/note) on MIDI out, in time",
                       group="playing in time (docs/timing.md)")
    jam_mode: str = option("call", "call: answer when the player stops; accompany: at every bar line; along: "
                           "play the parts under the player's melody beat by beat while they play (a harmony model)",
                           choices=("call", "accompany", "along"), group="playing in time (docs/timing.md)")
    jam_wait: float = option(2.0, "beats of silence that end a phrase", group="playing in time (docs/timing.md)")
    jam_bars: int = option(2, "bars of answer", group="playing in time (docs/timing.md)")
    jam_meter: str = option("4/4", "the meter bars are counted in", group="playing in time (docs/timing.md)")
    jam_channel: int = option(1, "MIDI channel of the answer, 1-16", group="playing in time (docs/timing.md)")
    jam_defaults: dict = field(default_factory=dict)  # request settings for jam answers ([jam] in the TOML)
    max_upload_mb: float = option(20.0, "the largest file the page takes, in MB", flag="--max-upload", metavar="MB")
    page_files_hours: float = option(24.0, "uploads and the files the page made are deleted after this many hours",
                                     metavar="HOURS")
    page_files_mb: float = option(256.0, "and, oldest first, when the uploads (or the page's files) take more than "
                                         "this many MB", metavar="MB")
    osc_files_mb: float = option(512.0, "the files OSC requests wrote in the outbox are deleted, oldest first, past "
                                        "this many MB (only this run's)", metavar="MB")
    beats: float = option(16.0, "default length of new music, in beats")
    watch: bool = option(True, "do not watch the inbox", invert="--no-watch")
    watch_defaults: dict = field(default_factory=dict)  # settings for dropped files ([watch] in the TOML)
    log_level: str = option("INFO", "DEBUG, INFO or WARNING")


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
            raise CadenzaError(f"unknown setting {key!r} in the config{did_you_mean(key, names)}; known: "
                               f"{', '.join(sorted(names))}")
        setattr(cfg, key, value)
    cfg.inbox, cfg.outbox = Path(cfg.inbox), Path(cfg.outbox)
    if int(cfg.max_tokens) < 1 or float(cfg.max_seconds) <= 0:
        raise CadenzaError("max_tokens and max_seconds must be positive")
    if cfg.jam_mode not in ("call", "accompany", "along") or not 0 < float(cfg.jam_wait) <= 64 or not 1 <= int(cfg.jam_bars) <= 64 \
            or not 1 <= int(cfg.jam_channel) <= 16 or not 10 <= float(cfg.qpm) <= 400:
        raise CadenzaError("jam: mode call, accompany or along, wait 0-64 beats, bars 1-64, channel 1-16; qpm 10-400")
    if not 0 < float(cfg.page_files_hours) <= 24 * 365 or not 0 < float(cfg.page_files_mb) <= 1 << 20 \
            or not 0 < float(cfg.osc_files_mb) <= 1 << 20:
        raise CadenzaError("page_files_hours, page_files_mb and osc_files_mb must be positive")
    if not 0 <= int(cfg.http_port) < 65536 or not 0 < float(cfg.max_upload_mb) <= 1024:
        raise CadenzaError(f"http_port {cfg.http_port} or max_upload_mb {cfg.max_upload_mb} is out of range")
    if not 0 <= int(cfg.port) < 65536:  # 0: any free port (the ready line says which)
        raise CadenzaError(f"port {cfg.port} is not a UDP port")
    return cfg
