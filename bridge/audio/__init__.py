"""Audio as samples: the built-in synthesiser, encoding and decoding, and pitch tracking. Nothing here
knows a Score (bridge.music.render turns a Score into sound with these; bridge.music.load_score reads a
recording through `transcribe`).

- `synth`: the built-in synthesiser, notes to samples, used when FluidSynth or a SoundFont is missing.
- `transcribe`: a WAV, FLAC, OGG or MP3 recording, decoded with tensorflow-io, to
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
