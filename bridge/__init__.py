"""Cadenza: trained Keras models of symbolic music, played along with from music software.

A tour (each line imports only what it names; TensorFlow loads only where a model runs):

    bridge.music       Score, Note, Track; load_score(path), write_midi(score, path)
    bridge.codecs      get_codec("performance"|"notewise"|"messages"|"kern"|"midibytes"|"pianoroll")
                       codec.encode(score) -> ids, codec.decode(ids) -> score
    bridge.music.transforms   transpose(score, n), stretch_tempo(score, factor)
    bridge.training.prepare   corpus folder -> token shards + manifest.json
    bridge.cli         the `cadenza` command
"""
__version__ = "0.1.0"
