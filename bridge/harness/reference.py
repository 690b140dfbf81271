"""note-seq's own path from a MIDI file to performance event ids, the reference Cadenza's performance codec is
held to (the same ids, file by file: tests/codecs/test_performance.py) and timed against (`cadenza bench
prepare`): midi_file_to_note_sequence -> apply_sustain_control_changes -> quantize_note_sequence_absolute ->
Performance -> PerformanceOneHotEncoding."""
from __future__ import annotations


def note_seq_ids(path: str, num_velocity_bins: int = 32, sustain: bool = True) -> list[int]:
    import note_seq
    from note_seq import performance_lib, sequences_lib
    from note_seq.performance_encoder_decoder import PerformanceOneHotEncoding

    ns = note_seq.midi_file_to_note_sequence(path)
    if sustain:
        ns = sequences_lib.apply_sustain_control_changes(ns)
    quantized = sequences_lib.quantize_note_sequence_absolute(ns, 100)
    perf = performance_lib.Performance(quantized, num_velocity_bins=num_velocity_bins)
    enc = PerformanceOneHotEncoding(num_velocity_bins=num_velocity_bins)
    return [enc.encode_event(e) for e in perf]
