"""Fuzzing the OSC door (bounded, seeded): the generator of bridge.harness.fuzz over the real grammar,
through UDP to a real daemon and straight into the dispatcher. After every batch the daemon answers a
ping and completes a continuation; nothing it logs is a traceback; no thread dies."""
from __future__ import annotations

import logging

from bridge.harness.fuzz import datagrams, run_fuzz


def test_5000_hostile_datagrams_through_udp(daemon):
    old = daemon.cfg.max_tokens
    daemon.cfg.max_tokens = 2000  # what a fuzzed request may cost: the fuzz is not a load test
    try:
        r = run_fuzz(5000, seed=15, daemon=daemon, batch=500)
    finally:
        daemon.cfg.max_tokens = old
    assert r["datagrams"] == 5000 and r["received_by_daemon"] >= 4000, r
    assert r["tracebacks_logged"] == 0, r["first_traceback"]
    assert r["thread_deaths"] == 0 and r["osc_thread_alive"] and r["workers_alive"] == len(daemon.jobs._threads)
    assert r["checks"] == 10 and r["checks_passed"] == 10, r
    assert r["error_replies"] <= r["received_by_daemon"]  # at most one error a datagram: no loop
    assert r["clients_kept"] <= 300


def test_the_dispatcher_without_sockets(daemon, caplog):
    """Every datagram straight into the handler, as the receive loop calls it: nothing escapes."""
    sent = []
    real = daemon.server.send
    daemon.server.send = lambda to, address, args: sent.append((to, address)) or True
    try:
        with caplog.at_level(logging.WARNING):
            for d in datagrams(seed=16, n=3000):
                daemon.server.handle(d, ("127.0.0.1", 9))
    finally:
        daemon.server.send = real
        daemon.jobs.cancel_all()
    assert not [r for r in caplog.records if r.exc_info]
    assert all(to[0] == "127.0.0.1" for to, _ in sent)  # replies only to the sender's host
    errors = sum(1 for _, a in sent if a == "/cadenza/error")
    assert errors <= 3000
