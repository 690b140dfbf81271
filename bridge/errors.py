"""Errors Cadenza reports to people.

Every problem a user can cause (a broken file, a bad option, an unknown model) is raised as a
`CadenzaError` whose message names the problem and, where there is one, the file. The CLI prints
the message and exits non-zero; the daemon turns it into `/cadenza/error`; the watch folder writes
it to `NAME.error.txt`. Anything else escaping is a bug in Cadenza.
"""


class CadenzaError(Exception):
    """A problem Cadenza can explain to the person who caused it."""


class MusicFileError(CadenzaError):
    """A music file cannot be read or written (empty, not MIDI, truncated, unparsable)."""


class CodecError(CadenzaError):
    """Token ids or parameters a codec cannot work with."""
