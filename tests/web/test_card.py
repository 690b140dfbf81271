"""The model card's licence: the licence its corpus note names, never a fragment of the note."""
from __future__ import annotations

from bridge.host.web import licence_of


def test_the_card_names_the_licence_of_the_corpus():
    assert licence_of("Groove MIDI Dataset v1.0.0 (Magenta), CC BY 4.0: train and validation splits") == "CC BY 4.0"
    assert licence_of("Bach 370 chorales, **kern (CC BY-NC-SA 4.0); the soprano read ahead") == "CC BY-NC-SA 4.0"
    assert licence_of("Nottingham folk tunes (GPL-3.0): the tune read two beats ahead") == "GPL-3.0"
    assert licence_of("piano-midi.de, Bernd Krueger (cc-by-sa; study and research use)") == "cc-by-sa"
    assert licence_of("some music (the owner's terms)") == "the owner's terms"
    assert licence_of("no licence said") == ""
