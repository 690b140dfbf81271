"""The harmony figures of bench harmonize and eval, on music whose answers are known."""
from __future__ import annotations

import numpy as np

from bridge.music import voicing

TPQ = 480


def notes(*rows):
    return np.array([(p, 80, round(a * TPQ), round(b * TPQ)) for p, a, b in rows], np.int64).reshape(-1, 4)


def test_the_key_of_a_tune_in_g_major_and_one_in_a_minor():
    g_major = notes(*[(p, i, i + 1) for i, p in enumerate([67, 71, 74, 72, 71, 69, 66, 67, 62, 67])])
    assert voicing.key_of(g_major) == (7, True)
    a_minor = notes(*[(p, i, i + 1) for i, p in enumerate([69, 72, 76, 74, 72, 71, 68, 69, 64, 69])])
    assert voicing.key_of(a_minor) == (9, False)


def test_the_rule_baseline_holds_the_melody_note_in_i_iv_or_v():
    # C major: C on beat 0 -> C major triad; F on beat 2 -> F major (IV); B on beat 4 -> G major (V)
    melody = notes((60, 0, 2), (65, 2, 4), (71, 4, 6), (72, 6, 8))
    strong = voicing.strong_beats(melody, TPQ)
    assert strong == [0, 2 * TPQ, 4 * TPQ, 6 * TPQ]
    chords = voicing.rule_chords(melody, strong, TPQ)
    at = {int(a // TPQ): sorted(int(p) % 12 for p, _, s, _ in chords.tolist() if s == a)
          for a in chords[:, 2].tolist()}
    assert at[0] == [0, 4, 7] and at[2] == [0, 5, 9] and at[4] == [2, 7, 11]


def test_chord_agreement_is_the_share_of_the_real_chord_sounded():
    real = notes((48, 0, 2), (52, 0, 2), (55, 0, 2), (53, 2, 4), (57, 2, 4), (60, 2, 4))
    same = real.copy()
    half = notes((48, 0, 4))  # C only: one of three at beat 0, one of three (C) at beat 2
    assert voicing.chord_agreement(real, same, [0, 2 * TPQ]) == (2.0, 2)
    total, n = voicing.chord_agreement(real, half, [0, 2 * TPQ])
    assert n == 2 and abs(total - 2 / 3) < 1e-9


def test_a_beat_sounds_a_chord_when_its_pitch_classes_fit_one_triad_or_seventh():
    """chordal_share: the moments on a beat where a note starts and two pitch classes or more sound, and of
    those the ones inside one triad or seventh chord on some root (a passing note or a cluster is not)."""
    from bridge.music.voicing import chordal_share

    tpq = 4

    def beat(*pitches, at=0):
        return [(p, 80, at, at + tpq) for p in pitches]

    melody = np.array(beat(72) + beat(74, at=4) + beat(76, at=8) + beat(79, at=12) + beat(77, at=16) + beat(71, at=21),
                      np.int64)
    parts = np.array(beat(48, 55, 64)            # C E G under C: a triad
                     + beat(50, 53, 57, at=4)    # D F A under D: a triad (D minor)
                     + beat(50, 53, 60, at=8)    # D F C under E: a cluster, not one chord
                     + beat(43, 59, 65, at=12)   # G B F under G: the dominant seventh
                     + beat(77, at=16)           # F under F: one pitch class, not counted
                     + beat(48, 55, at=20),      # C G, no note starting on the beat after 20: counted at 20
                     np.int64)
    assert chordal_share(melody, parts, tpq) == (4, 5)
    assert chordal_share(melody, parts[:0], tpq) == (0, 0)  # the melody alone: one pitch class a beat
