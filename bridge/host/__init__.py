"""The daemon: OSC server (osc.py, protocol.py), watch folder (watch.py), job queue (jobs.py),
model store (models.py), configuration (config.py), all tied together in daemon.py."""
