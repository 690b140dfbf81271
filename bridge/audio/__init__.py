"""Audio: hear a continuation, and prime from a recording.

- `render`: a Score or MIDI file to sound, through FluidSynth and a General MIDI SoundFont when both
  are present, else through the built-in synthesiser (`synth`), so rendering never fails for lack of a
  SoundFont; encoded to WAV, FLAC, OGG or MP3 with tensorflow-io.
- `transcribe`: a WAV, FLAC, OGG or MP3 recording, decoded and resampled with tensorflow-io, to
  prime notes by pitch tracking (monophonic: one melody line; in a chord it follows the most
  periodic voice).

tensorflow-io is imported here only, and only when audio is encoded or decoded: where it is not
installed these functions raise a CadenzaError that says so, and the rest of Cadenza works.
"""
from __future__ import annotations

from ..errors import CadenzaError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")  # recordings, read by pitch tracking (transcribe)
TFIO_PIN = "tensorflow-io==0.37.1"


def tfio():
    """tensorflow_io, or a CadenzaError naming what to install."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow_io
    except ImportError as e:
        raise CadenzaError(f"audio needs tensorflow-io, which is not installed here ({e}); install it with "
                           f"`pip install {TFIO_PIN}` (it loads against TensorFlow 2.16). MIDI, **kern and "
                           f"MusicXML work without it.") from None
    except Exception as e:  # noqa: BLE001 - e.g. native ops built for another TensorFlow
        raise CadenzaError(f"tensorflow-io is installed but does not load ({type(e).__name__}: {e}); it needs "
                           f"TensorFlow 2.16 (`pip install {TFIO_PIN} tensorflow==2.16.2`)") from None
    return tensorflow_io
