"""Errors Cadenza reports to people.

Every problem a user can cause (a broken file, a bad option, an unknown model) is raised as a
`CadenzaError` whose message names the problem and, where there is one, the file. The CLI prints
the message and exits non-zero; the daemon turns it into `/cadenza/error`; the watch folder writes
it to `NAME.error.txt`. Anything else escaping is a bug in Cadenza.
"""
from __future__ import annotations


SUGGESTIONS_PER_SECOND = 50  # did_you_mean's searches a second, in all (a flood of misspelt names is refused
# without one: ~0.1-0.3 ms each, where refusing an unknown OSC address costs ~0.05 ms)
_spent = [0, 0]  # the second (monotonic) and the searches made in it


def did_you_mean(word: object, names) -> str:
    """What an error about an unknown name adds where the name was typed a little wrong ('temprature', 'top-p',
    'Piano'): " (did you mean 'temperature'?)", else "". A musician sees the fix, not only the list. At most
    SUGGESTIONS_PER_SECOND searches a second: past them the error says what it always said."""
    if not isinstance(word, str) or not 0 < len(word) <= 80:
        return ""
    import difflib
    import time

    now = int(time.monotonic())
    if _spent[0] != now:
        _spent[:] = [now, 0]
    if _spent[1] >= SUGGESTIONS_PER_SECOND:
        return ""
    _spent[1] += 1

    def key(name: str) -> str:
        return name.lower().replace("-", "_")

    by_key = {key(n): n for n in names if isinstance(n, str)}
    match = difflib.get_close_matches(key(word), by_key, 1, 0.75)
    return f" (did you mean {by_key[match[0]]!r}?)" if match else ""


class CadenzaError(Exception):
    """A problem Cadenza can explain to the person who caused it."""


class MusicFileError(CadenzaError):
    """A music file cannot be read or written (empty, not MIDI, truncated, unparsable)."""


class CodecError(CadenzaError):
    """Token ids or parameters a codec cannot work with."""
