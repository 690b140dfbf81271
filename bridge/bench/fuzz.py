"""`cadenza bench fuzz`: hostile datagrams against a real daemon, then hostile page requests, and what they
cost it. The input and the runs are bridge.harness.fuzz's, the same the test suite sends
(tests/host/test_fuzz.py, tests/web/test_door_hardening.py), so what the bench measures is what CI checks."""
from __future__ import annotations

from ..harness.fuzz import page_fuzz, run_fuzz

__all__ = ["run_fuzz", "page_fuzz", "table_fuzz"]  # run_fuzz is the bench's run function (bench.BENCHES)


def table_fuzz(r: dict) -> str:
    lines = [f"{r['datagrams']} hostile datagrams in {r['seconds']} s ({r['received_by_daemon']} read by the daemon, "
             f"{r['malformed']} malformed)",
             f"error replies {r['error_replies']} ({r['error_replies_per_datagram']} a datagram; at most 1 each), "
             f"all replies {r['replies']} ({r['replies_per_datagram']} a datagram)",
             f"threads: OSC loop alive {r['osc_thread_alive']}, workers alive {r['workers_alive']}, "
             f"thread deaths {r['thread_deaths']}",
             f"tracebacks logged {r['tracebacks_logged']}; ping + continue after each batch: "
             f"{r['checks_passed']}/{r['checks']}",
             f"RSS {r['rss_mb_before']} MB -> {r['rss_mb_after']} MB; clients kept {r['clients_kept']}"]
    if "page" in r:
        p = r["page"]
        lines.append(f"the page: {p['requests']} hostile requests in {p['seconds']} s, statuses {p['statuses']}; "
                     f"server errors {p['server_errors']}; answers after {p['page_answers_after']}")
    if "jam" in r:
        j = r["jam"]
        lines.append(f"the jam: {j['notes']} hostile notes in {j['seconds']} s; held after them {j['held_after_fuzz']} "
                     f"(limit {j['held_limit']}), at the end {j['held_at_end']}; a phrase after them answered "
                     f"{j['answered_after']} ({j['answer_seconds']} s); its threads alive {j['live_threads_alive']}; "
                     f"tracebacks {j['tracebacks_logged']}")
    return "\n".join(lines)
