"""What the tests and the benchmarks both drive Cadenza with, written once: free ports of 127.0.0.1, an OSC
client over real UDP and OSC bytes written by hand (`osc`), the seeded hostile datagrams and page requests
and the runs that throw them at a daemon (`fuzz`), melodies with known notes for the pitch tracker
(`melodies`), note-seq's encoding as the reference for ours (`reference`), the real browsers the page is
tried in (`browsers`), a second Ableton Link peer in a network namespace (`link`), and memory and thread
counts (`measure`).

tests/ and bridge/bench/ import from here; nothing here imports either. Nothing here runs in the daemon.
"""
