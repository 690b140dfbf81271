"""Every variation streams: variation 1 on /cadenza/notes, 2, 3, ... on /cadenza/variation id k, each the
notes of the file written for it."""
from __future__ import annotations

from bridge.music import read_midi

PRIME = [60, 0.0, 1.0, 90, 64, 1.0, 1.0, 90, 67, 2.0, 1.0, 90]


def test_each_variation_streams_the_notes_of_its_file(client):
    client.send("/cadenza/continue", 90, *PRIME, "beats", 6.0, "variations", 3, "seed", 2)
    got = client.receive(rid=90, timeout=120)
    assert got[-1][0] == "/cadenza/done"
    streamed = {1: [], 2: [], 3: []}
    for address, params in got:
        if address == "/cadenza/notes":
            flat, k = params[1:], 1
        elif address == "/cadenza/variation":
            flat, k = params[2:], params[1]
        else:
            continue
        streamed[k] += [(flat[i], round(flat[i + 1], 3), flat[i + 3]) for i in range(0, len(flat), 4)]
    files = {p[2]: p[1] for a, p in got if a == "/cadenza/file"}
    assert sorted(files) == [1, 2, 3]
    for k in (1, 2, 3):
        score = read_midi(files[k])
        written = sorted((n.pitch, round(n.start / score.tpq, 3), n.velocity) for n in score.notes())
        assert written and sorted(streamed[k]) == written
    assert streamed[1] != streamed[2]  # three different takes
