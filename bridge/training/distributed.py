"""`cadenza train --distribute mirrored | multiworker`: data-parallel training with tf.distribute.

`multiworker` uses `tf.distribute.MultiWorkerMirroredStrategy`, which reads the cluster from `TF_CONFIG`
(every worker runs the same command with its own `task.index`); `mirrored` uses `MirroredStrategy` over
the devices of one machine (several GPUs). Keras 3's `model.fit` does not run under the multi-worker
strategy (keras-team/keras#20585), so this is a custom loop in the TensorFlow guide's form:
`strategy.run` of one step per replica, the loss averaged over the global batch
(`tf.nn.compute_average_loss`), the gradients all-reduced by the strategy, and the dataset shared out
by `experimental_distribute_dataset` (each worker reads its shard of every global batch). Every epoch
the weights and the optimizer are checkpointed (`tf.train.Checkpoint`: mirrored variables, so a run
resumes on any number of workers); the chief (worker 0) keeps the checkpoint in runs/NAME/distributed
and exports the model, the others write theirs to a scratch folder, as the strategy requires.

Status: token models (lstm, rnn) only; the attention-LSTM's three heads are not wired here yet.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from ..errors import CadenzaError
from .data import EarlyStop


_STRATEGY: dict = {}
GRACE = 5.0  # seconds: TensorFlow's collective timeout is the worker's own (_Watch) plus this


class _Watch:
    """Stops this worker, with what it has to say, when a step has waited `timeout` seconds for the others.

    A thread of its own looks every 0.1 s; the loop arms it around each step (after the first, which also
    traces and connects) and disarms it after. It exits the process at once (os._exit): a worker whose
    collective hangs cannot be torn down cleanly, and TensorFlow's own abort of it (the backstop, GRACE
    seconds later) sometimes crashes with a segmentation fault instead of raising."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.armed: tuple | None = None  # (since, message)
        threading.Thread(target=self._run, name="cadenza-worker-watch", daemon=True).start()

    def arm(self, message) -> None:
        self.armed = (time.monotonic(), message)

    def disarm(self) -> None:
        self.armed = None

    def _run(self) -> None:
        while True:
            time.sleep(0.1)
            armed = self.armed
            if armed is not None and time.monotonic() - armed[0] > self.timeout:
                print(f"cadenza: error: {armed[1]()}", file=sys.stderr, flush=True)
                sys.stdout.flush()
                os._exit(1)


def strategy_for(kind: str, timeout: float = 0.0):
    """The strategy, made once per process: the multi-worker one must exist before TensorFlow runs any
    op (collective ops are configured at start-up), so `train` asks for it first."""
    if kind in _STRATEGY:
        return _STRATEGY[kind]
    _STRATEGY[kind] = _make(kind, timeout)
    return _STRATEGY[kind]


def _make(kind: str, timeout: float):
    if timeout < 0:
        raise CadenzaError(f"--worker-timeout {timeout:g}: seconds, above 0 (0: wait for ever)")
    import tensorflow as tf

    if kind == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise CadenzaError("--distribute multiworker reads the cluster from TF_CONFIG; set it on every worker "
                               '(e.g. {"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                               '"task": {"type": "worker", "index": 0}})')
        # a collective waits at most `timeout` seconds for the other workers: a host that vanished without
        # closing its connections (power, network) stops the run instead of hanging it. After the first step
        # the worker's own watch (_Watch) speaks first, GRACE seconds earlier: TensorFlow's abort of a timed-out
        # collective sometimes ends the process with a segmentation fault before anything is said
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout + GRACE if timeout else None)
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy()
    raise CadenzaError(f"--distribute {kind!r}: mirrored or multiworker")


def is_chief() -> bool:
    cfg = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
    task = cfg.get("task", {})
    return task.get("type", "worker") in ("worker", "chief") and int(task.get("index", 0)) == 0


def distributed_fit(cfg, codec, data, build) -> tuple:
    """Train under the strategy; (model with the best validation weights, history dict, seconds, whether
    this worker is the chief, its loss on every validation window).
    `build()` makes the model (inside the strategy's scope)."""
    import keras
    import tensorflow as tf

    if isinstance(data.losses, (list, tuple, dict)):
        raise CadenzaError("--distribute trains token models (lstm, rnn); not the attention-LSTM yet")
    strategy = strategy_for(cfg.distribute)
    batch = cfg.batch
    with strategy.scope():
        model = build()
        opt = keras.optimizers.Adam(cfg.lr, clipnorm=1.0)
        opt.build(model.trainable_variables)
    lossf = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)

    @tf.function
    def step(x, y):
        def replica(x, y):
            with tf.GradientTape() as tape:
                per = tf.reduce_mean(lossf(y, model(x, training=True)), -1)
                loss = tf.nn.compute_average_loss(per, global_batch_size=batch)
            grads = tape.gradient(loss, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables))
            return loss
        return strategy.reduce("SUM", strategy.run(replica, args=(x, y)), axis=None)

    def val_loss(ds) -> float:
        total, n = 0.0, 0
        for x, y in ds:
            per = lossf(y, model(x, training=False))
            total += float(tf.reduce_sum(per))
            n += int(np.prod(per.shape))
        return total / max(n, 1)

    run_dir = Path(cfg.runs) / cfg.name / "distributed"
    chief = is_chief()
    ck_dir = run_dir if chief else Path(tempfile.mkdtemp(prefix="cadenza-worker-"))
    ck = tf.train.Checkpoint(model=model, optimizer=opt, epoch=tf.Variable(0))
    latest = tf.train.latest_checkpoint(str(run_dir)) if run_dir.is_dir() else None
    if latest:
        ck.restore(latest)  # mirrored variables: the run goes on with however many workers there are now
    log_sums = os.environ.get("CADENZA_LOG_WEIGHT_SUMS") == "1"  # tests compare the workers' weights
    it = iter(strategy.experimental_distribute_dataset(data.train))
    history = {"loss": [], "val_loss": []}
    early = EarlyStop(model, cfg.patience, cfg.max_minutes)
    t0 = time.time()
    history["start_epoch"] = int(ck.epoch.numpy())  # above 0: resumed from the checkpoint
    timeout = cfg.worker_timeout if cfg.distribute == "multiworker" else 0
    watch = _Watch(timeout) if timeout else None
    first = True
    for epoch in range(int(ck.epoch.numpy()), cfg.epochs):
        losses = []
        started = time.perf_counter()
        saved = int(ck.epoch.numpy())  # the epoch whose checkpoint is kept
        for s in range(cfg.steps_per_epoch):
            x, y = next(it)
            if watch and not first:
                watch.arm(lambda e=epoch, s=s, saved=saved: _lost_worker(
                    f"no answer from the other workers within {timeout:g} s", e, s, run_dir, chief, saved))
            try:
                losses.append(float(step(x, y)))
            except tf.errors.OpError as e:  # a worker died or hangs: the collective failed or timed out
                raise CadenzaError(_lost_worker(e, epoch, s, run_dir, chief, saved)) from None
            finally:
                if watch:
                    watch.disarm()
            first = False
            if log_sums:
                print(f"weights epoch {epoch} step {s} {sum(float(np.abs(w).sum()) for w in model.get_weights()):.6f}",
                      flush=True)
        ms = (time.perf_counter() - started) * 1000 / cfg.steps_per_epoch
        history.setdefault("ms_per_step", []).append(round(ms, 1))
        vl = val_loss(data.quick_val)
        history["loss"].append(round(float(np.mean(losses)), 4))
        history["val_loss"].append(round(vl, 4))
        if cfg.verbose:
            print(f"epoch {epoch + 1}: loss {np.mean(losses):.4f}, val_loss {vl:.4f} "
                  f"({strategy.num_replicas_in_sync} replicas, {ms:.0f} ms/step)", flush=True)
        ck.epoch.assign(epoch + 1)
        ck.save(str(ck_dir / "ckpt"))
        if early.stop(vl):
            break
    early.restore()
    return model, history, time.time() - t0, chief, val_loss(data.full_val)


def _lost_worker(e, epoch: int, step: int, run_dir: Path, chief: bool, saved: int) -> str:
    """What a worker says when the run lost one of its workers."""
    lines = [ln.strip() for ln in str(getattr(e, "message", e)).splitlines() if ln.strip()]
    cause = next((ln for ln in lines if "aborted by" in ln or "timed out" in ln.lower() or "deadline" in ln.lower()),
                 lines[0] if lines else type(e).__name__)
    where = f"{run_dir}" if chief else f"{run_dir} on the chief (worker 0)"
    kept = (f"the checkpoint of epoch {saved} is kept in {where}" if saved else
            "no epoch had finished, so there is no checkpoint yet")
    return (f"a worker left the run at epoch {epoch + 1}, step {step + 1} ({cause}); this worker stops. "
            f"{kept}: start the workers again, as many as you have (TF_CONFIG listing them), to go on from it")
