"""Command-line flags made from a config dataclass: one default and one help text for each setting.

    @dataclass
    class PrepareConfig:
        codec: str = option("performance", "performance, notewise, messages, kern, midibytes, pianoroll")

    add_flags(parser, PrepareConfig)           # --codec, with its help and "(default performance)"
    cfg = config_of(PrepareConfig, args)       # the dataclass from the parsed flags

A field without `option` metadata has no flag. No imports beyond the standard library: `cadenza --help`
builds every command's flags from these tables.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

_MISSING = dataclasses.MISSING


def option(default: Any = _MISSING, help: str = "", *, flag: str | None = None, metavar: str | None = None,  # noqa: A002
           choices=None, positional: bool = False, nargs=None, group: str | None = None, show_default: bool = True,
           invert: str | None = None, factory=None):
    """A dataclass field that is also a flag. `flag`: its name if not --the-field-name; `invert`: a
    store_true flag that sets the field to False (--quiet for `progress`); `group`: a heading in --help;
    `factory`: a default made when the config is (a mutable default, or one computed from the install)."""
    meta = {"help": help, "flag": flag, "metavar": metavar, "choices": choices, "positional": positional,
            "nargs": nargs, "group": group, "show_default": show_default, "invert": invert}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata={"cli": meta})
    if isinstance(default, (list, dict)):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata={"cli": meta})
    return dataclasses.field(default=default, metadata={"cli": meta})


def key_value(text: str) -> tuple[str, object]:
    """KEY=VALUE, the value read as JSON where it is (numbers, true/false, lists), else as text."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        parsed: object = json.loads(value)
    except ValueError:
        parsed = value
    return key.strip(), parsed


def _default_of(f: dataclasses.Field):
    if f.default is not _MISSING:
        return f.default
    if f.default_factory is not _MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return _MISSING


def add_flags(parser, cls, skip: tuple = (), unset: bool = False) -> None:
    """A flag for each field of `cls` with `option` metadata. `unset`: flags default to None, so a caller
    can layer them over other sources (a TOML file); the help still names the dataclass default."""
    groups: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        meta = f.metadata.get("cli")
        if meta is None or f.name in skip:
            continue
        target = parser
        if meta["group"]:
            target = groups.get(meta["group"]) or groups.setdefault(meta["group"], parser.add_argument_group(meta["group"]))
        default = _default_of(f)
        help_text = meta["help"]
        shown = "" if isinstance(default, Path) else default
        if meta["show_default"] and default is not _MISSING and not isinstance(default, (bool, list, dict)) \
                and shown not in ("", None):
            help_text += f" (default {shown})"
        kwargs: dict[str, Any] = {"help": help_text}
        if meta["metavar"]:
            kwargs["metavar"] = meta["metavar"]
        if meta["choices"]:
            kwargs["choices"] = meta["choices"]
        if meta["positional"]:
            if meta["nargs"]:
                kwargs["nargs"] = meta["nargs"]
            target.add_argument(f.name, **kwargs)
            continue
        name = meta["flag"] or "--" + f.name.replace("_", "-")
        kwargs["dest"] = f.name
        if meta["invert"]:
            target.add_argument(meta["invert"], action="store_false", default=None if unset else default, **kwargs)
            continue
        if isinstance(default, bool):
            target.add_argument(name, action="store_true", default=None if unset else default, **kwargs)
        elif isinstance(default, dict):
            target.add_argument(name, action="append", type=key_value, default=None if unset else [],
                                metavar=meta["metavar"] or "KEY=VALUE", **{k: v for k, v in kwargs.items() if k != "metavar"})
        elif isinstance(default, list):
            target.add_argument(name, action="append", default=None if unset else [], **kwargs)
        else:
            kind = type(default) if default not in (_MISSING, None) else str
            kind = str if kind is Path else kind
            required = default is _MISSING
            target.add_argument(name, type=kind, default=None if (unset or required) else default,
                                required=required, **kwargs)


def values_of(cls, args, skip: tuple = ()) -> dict:
    """The flags of `cls` that were given (not None), as field values (KEY=VALUE lists as dicts, paths as Paths)."""
    out = {}
    for f in dataclasses.fields(cls):
        if "cli" not in f.metadata or f.name in skip or not hasattr(args, f.name):
            continue
        value = getattr(args, f.name)
        if value is None:
            continue
        default = _default_of(f)
        if isinstance(default, dict):
            value = dict(value)
        elif isinstance(default, Path) or (default is _MISSING and "Path" in str(f.type) and "list" not in str(f.type)):
            value = Path(value)
        out[f.name] = value
    return out


def config_of(cls, args, **given):
    """`cls` made from the parsed flags, plus `given` fields."""
    return cls(**{**values_of(cls, args), **given})
