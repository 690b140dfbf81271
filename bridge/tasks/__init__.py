"""Tasks in, typed events out: what every door asks for, and the one function that carries it out.

    from bridge.tasks import Continue, run
    from bridge.settings import Settings
    final = run(Continue(Settings(beats=16), prime=Path("song.mid"), out=Path("song.cadenza.mid")), sink=print)

No sockets, no HTTP: a door turns its input into a task (bridge.tasks.types) and the events
(bridge.tasks.events) into its own output.
"""
from __future__ import annotations

from . import events
from .run import Limits, StoreModels, check_cost, groove_model, harmony_model, run
from .types import DRUM_TASKS, HARMONY_MODEL, Continue, Drums, Harmonize, Infill, Task, outputs

__all__ = ["events", "run", "Limits", "StoreModels", "check_cost", "groove_model", "harmony_model", "Continue", "Infill",
           "Drums", "Harmonize", "HARMONY_MODEL", "Task", "DRUM_TASKS", "outputs"]
