"""The groove model trained with PyTorch, on a GPU when there is one: the same net (bridge/nets/groovae.py),
windows, tasks, loss and early stop as `cadenza train-groove` (bridge/training/groove.py), for a machine that
has PyTorch but not TensorFlow. Nothing needs it: `cadenza train-groove` trains the same model on a CPU, in
more minutes. PyTorch is not one of Cadenza's dependencies; this script alone imports it.

    # here: the corpus's windows read once (no PyTorch needed)
    python models/groove_gpu.py windows ../shared/corpus/groove data/groove-windows.npz
    # there: one run, or several at once on one GPU (each its own process), each its flags
    python models/groove_gpu.py train data/groove-windows.npz groove-g.npz --seed 10 --error absolute
    python models/groove_gpu.py sweep data/groove-windows.npz runs/ --run "--seed 10" --run "--seed 11 --dropout 0.2"
    # here: the weights as a Keras model in the store, with the run's record, calibrated as train-groove does
    cadenza train-groove ../shared/corpus/groove --weights groove-g.npz --name groove-g

A run writes one .npz: every layer's weights in Keras' layout (`<layer>/<i>`, the order of Keras'
get_weights: LSTM kernel, recurrent kernel, one bias, gates i, f, c, o; a Bidirectional's forward three, then
its backward three) and `record`, a JSON text: the arguments, the settings, the history, the seconds, the
machine. Before it writes, it checks that Cadenza's numpy passes (bridge/generation/groove.py) play those
weights as PyTorch does.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository's bridge/

from bridge.nets.groovae import CLASSES as C, DEFAULTS, LAYERS, by_layer, flat  # noqa: E402
from bridge.training.groove import TASK_SHARE, make_examples  # noqa: E402

PARTS = ("H", "V", "O", "Q", "S")  # hits, velocities, offsets, tempi, styles: bridge.training.groove.windows


def cmd_windows(a) -> None:
    """The corpus's 2-bar windows, both parts, as train-groove reads them, into one .npz."""
    from bridge.training.groove import _files, styles_of, windows

    folder = Path(a.data)
    files = _files(folder, a.max_files)
    styles = styles_of(folder)
    arrays = {}
    for part in ("train", "validation"):
        for k, x in zip(PARTS, windows(files[part], styles=styles)):
            arrays[f"{part}_{k}"] = x.astype(np.uint8) if k == "H" else x
    meta = {"corpus": str(folder.resolve()),
            "files": {k: [str(p.relative_to(folder)) for p in v] for k, v in files.items()},
            "windows": {k: int(len(arrays[f"{k}_H"])) for k in ("train", "validation")}}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(a.out, meta=json.dumps(meta), **arrays)
    print(f"{a.out}: {meta['windows']} windows")


def net(width: int, args: dict):
    import torch
    from torch import nn

    class GrooVAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.LSTM(width, args["enc_units"], batch_first=True, bidirectional=True)
            self.mu = nn.Linear(2 * args["enc_units"], args["latent"])
            self.logvar = nn.Linear(2 * args["enc_units"], args["latent"])
            self.decoder = nn.LSTM(args["latent"] + width, args["dec_units"], batch_first=True,
                                   bidirectional=bool(args["dec_bidi"]))
            self.out = nn.Linear(args["dec_units"] * (2 if args["dec_bidi"] else 1), 3 * C)
            for m in (self.encoder, self.decoder):  # Keras' first weights: glorot, orthogonal, forget gate's bias 1
                for name, w in m.named_parameters():
                    if name.startswith("weight_ih"):
                        nn.init.xavier_uniform_(w)
                    elif name.startswith("weight_hh"):
                        nn.init.orthogonal_(w)
                    else:
                        nn.init.zeros_(w)
                        if name.startswith("bias_ih"):
                            u = w.shape[0] // 4
                            w.data[u:2 * u] = 1.0
            for m in (self.mu, self.logvar, self.out):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

        def forward(self, src, cond, eps, dropout=0.0):
            _, (h, _) = self.encoder(src)
            h = torch.cat([h[0], h[1]], -1)  # the last state read forward, and read backward
            h = nn.functional.dropout(h, dropout, self.training)
            mu, lv = self.mu(h), self.logvar(h)
            z = mu + eps * torch.exp(0.5 * lv)
            d, _ = self.decoder(torch.cat([z[:, None, :].expand(-1, cond.shape[1], -1), cond], -1))
            d = nn.functional.dropout(d, dropout, self.training)
            return mu, lv, self.out(d)

    return GrooVAE()


def loss_of(mu, lv, y, target, cfg):
    import torch
    import torch.nn.functional as F

    hits, vel, off = y[..., :C], torch.sigmoid(y[..., C:2 * C]), torch.tanh(y[..., 2 * C:])
    th, tv, to = target[..., :C], target[..., C:2 * C], target[..., 2 * C:]
    bce = F.binary_cross_entropy_with_logits(hits, th, reduction="none").sum(-1).mean()
    n = torch.clamp(th.sum(), min=1.0)
    if cfg.error == "absolute":
        err = ((th * (vel - tv).abs()).sum() + (th * (off - to).abs()).sum()) / n
    else:
        err = ((th * (vel - tv) ** 2).sum() + (th * (off - to) ** 2).sum()) / n * 5.0
    kl = (-0.5 * (1 + lv - mu ** 2 - torch.exp(lv)).sum(-1)).mean()
    return bce + err + cfg.beta * torch.clamp(kl - cfg.free_bits, min=0.0), (bce, err, kl)


def keras_weights(model, args) -> dict:
    """{"<layer>/<i>": array}: each layer's weights in Keras' order and layout (PyTorch's two biases summed)."""
    sd = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in model.state_dict().items()}

    def lstm(prefix, suffix=""):
        return [sd[f"{prefix}.weight_ih_l0{suffix}"].T, sd[f"{prefix}.weight_hh_l0{suffix}"].T,
                sd[f"{prefix}.bias_ih_l0{suffix}"] + sd[f"{prefix}.bias_hh_l0{suffix}"]]

    layers = {"encoder": lstm("encoder") + lstm("encoder", "_reverse"),
              "decoder": lstm("decoder") + (lstm("decoder", "_reverse") if args["dec_bidi"] else []),
              **{k: [sd[f"{k}.weight"].T, sd[f"{k}.bias"]] for k in ("mu", "logvar", "out")}}
    assert set(layers) == set(LAYERS)
    return flat({k: [np.ascontiguousarray(w) for w in ws] for k, ws in layers.items()})


def load_keras_weights(model, run: dict, args: dict) -> None:
    """The inverse of keras_weights: a run's weights into this net (Keras' one bias into PyTorch's input bias)."""
    import torch

    sd = model.state_dict()

    def put(name, w):
        if tuple(sd[name].shape) != w.shape:
            raise SystemExit(f"--init: {name} is {w.shape}, this run's net has {tuple(sd[name].shape)}")
        sd[name] = torch.from_numpy(np.ascontiguousarray(w))

    def lstm(prefix, ws, suffix=""):
        put(f"{prefix}.weight_ih_l0{suffix}", ws[0].T)
        put(f"{prefix}.weight_hh_l0{suffix}", ws[1].T)
        put(f"{prefix}.bias_ih_l0{suffix}", ws[2])
        put(f"{prefix}.bias_hh_l0{suffix}", np.zeros_like(ws[2]))

    w = by_layer(run)
    lstm("encoder", w["encoder"][:3])
    lstm("encoder", w["encoder"][3:], "_reverse")
    lstm("decoder", w["decoder"][:3])
    if args["dec_bidi"]:
        lstm("decoder", w["decoder"][3:], "_reverse")
    for k in ("mu", "logvar", "out"):
        put(f"{k}.weight", w[k][0].T)
        put(f"{k}.bias", w[k][1])
    model.load_state_dict(sd)


def numpy_check(model, weights: dict, args: dict, src, cond, dev) -> float:
    """The largest difference between PyTorch's and Cadenza's numpy passes (bridge.generation.groove) on
    these windows: hit probabilities, velocities and offsets (steps) at the encoder's mean."""
    import types

    import torch

    from bridge.generation.groove import GrooveModel

    loaded = types.SimpleNamespace(name="check", arrays=by_layer(weights),
                                   meta={"arch": {"name": "groovae", "args": args}})
    g = GrooveModel(loaded)
    mu, _ = g.encode(src)
    mine = g.decode(mu, cond)
    model.eval()
    with torch.no_grad():
        s, c = torch.from_numpy(src).to(dev), torch.from_numpy(cond).to(dev)
        tmu, _, y = model(s, c, torch.zeros(len(src), args["latent"], device=dev))
    y = y.cpu().numpy()
    theirs = (1 / (1 + np.exp(-y[..., :C])), 1 / (1 + np.exp(-y[..., C:2 * C])), 0.5 * np.tanh(y[..., 2 * C:]))
    return float(max(np.abs(mu - tmu.cpu().numpy()).max(), *(np.abs(a - b).max() for a, b in zip(mine, theirs))))


def cmd_train(a) -> None:
    import torch

    torch.set_num_threads(1)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    if dev == "cuda":  # the same sums as the CPU: no TF32 matrix products
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    d = np.load(a.data)
    data_meta = json.loads(str(d["meta"]))
    train = [d[f"train_{k}"].astype(np.float32) if k in "HVO" else d[f"train_{k}"] for k in PARTS]
    valid = [d[f"validation_{k}"].astype(np.float32) if k in "HVO" else d[f"validation_{k}"] for k in PARTS]
    args = {**DEFAULTS, "dec_bidi": True, "styles": 18, **{k: int(v) if k != "dec_bidi" else v == "true"
                                                           for k, v in (x.split("=", 1) for x in a.arg)}}
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    vt = rng.choice(3, len(valid[0]), p=TASK_SHARE)
    vsrc, vcond, vtarget = make_examples(*valid[:3], vt, valid[4], valid[3])
    model = net(vsrc.shape[-1], args)
    init = None
    if a.init:  # a longer run: the weights of an earlier one (its record kept under init_from)
        with np.load(a.init) as run:
            init = json.loads(str(run["record"]))
            load_keras_weights(model, {k: run[k] for k in run.files if k != "record"}, args)
    model = model.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, eps=1e-7)  # Keras' epsilon
    params = list(model.parameters())

    def t(x):
        return torch.from_numpy(np.ascontiguousarray(x)).to(dev)

    V = [t(x) for x in (vsrc, vcond, vtarget)]

    def val_loss():
        model.eval()
        total, parts, n = 0.0, np.zeros(3), 0
        with torch.no_grad():
            for s in range(0, len(vsrc), 256):
                e = min(s + 256, len(vsrc))
                mu, lv, y = model(V[0][s:e], V[1][s:e], torch.zeros(e - s, args["latent"], device=dev))
                loss, p = loss_of(mu, lv, y, V[2][s:e], a)
                total += float(loss) * (e - s)
                parts += np.array([float(x) for x in p]) * (e - s)
                n += e - s
        model.train()
        return total / n, parts / n

    start, best, waited, history, best_state = time.time(), float("inf"), 0, [], None
    for epoch in range(a.epochs):
        losses = []
        for _ in range(a.steps_per_epoch):
            idx = rng.integers(0, len(train[0]), a.batch)
            tasks = rng.choice(3, a.batch, p=TASK_SHARE)
            sty = np.where(rng.random(a.batch) < a.style_drop, -1, train[4][idx])
            qpm = train[3][idx] * np.exp(rng.normal(0.0, a.tempo_jitter, a.batch))
            src, cond, target = make_examples(train[0][idx], train[1][idx], train[2][idx], tasks, sty, qpm)
            eps = rng.standard_normal((a.batch, args["latent"])).astype(np.float32)
            mu, lv, y = model(t(src), t(cond), t(eps), a.dropout)
            loss, _ = loss_of(mu, lv, y, t(target), a)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            for p in params:  # Keras' clipnorm: each weight's gradient on its own
                torch.nn.utils.clip_grad_norm_([p], 1.0)
            opt.step()
            losses.append(loss.detach())
        vl, vp = val_loss()
        history.append({"epoch": epoch + 1, "loss": round(float(torch.stack(losses).mean()), 4),
                        "val_loss": round(vl, 4), "val_hits_bce": round(float(vp[0]), 4),
                        "val_vel_off_mse": round(float(vp[1]), 4), "val_kl": round(float(vp[2]), 3),
                        "seconds": round(time.time() - start)})
        print(json.dumps(history[-1]), flush=True)
        if vl < best - 1e-4:
            best, waited = vl, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            waited += 1
        if waited >= a.patience or time.time() - start > a.max_minutes * 60:
            break
    model.load_state_dict(best_state)
    weights = keras_weights(model, args)
    diff = numpy_check(model, weights, args, vsrc[:64], vcond[:64], dev)
    if diff > 1e-3:
        raise SystemExit(f"the numpy passes play these weights {diff:.2g} apart from PyTorch: not written")
    settings = {k: v for k, v in vars(a).items() if k not in ("fn", "data", "out", "arg")}
    record = {"args": args, "settings": {**settings, "args": dict(x.split("=", 1) for x in a.arg)},
              "history": history, "seconds": round(time.time() - start), "best_val_loss": round(best, 4),
              "numpy_check": diff, "files": data_meta["files"], "windows": data_meta["windows"],
              "corpus": data_meta["corpus"], **({"init_from": init} if init else {}),
              "machine": f"PyTorch {torch.__version__} on "
                         f"{torch.cuda.get_device_name() if dev == 'cuda' else 'the CPU'}"}
    tmp = Path(str(a.out) + ".part.npz")
    np.savez(tmp, record=json.dumps(record), **weights)
    os.replace(tmp, a.out)
    print(f"{a.out}: best validation loss {best:.4f} at epoch "
          f"{min(history, key=lambda r: r['val_loss'])['epoch']} of {len(history)}; numpy check {diff:.1e}")


def cmd_sweep(a) -> None:
    """Several runs at once, each its own process (one GPU, one CPU core each); a summary at the end."""
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    procs = []
    for k, flags in enumerate(a.run):
        name = f"run{k:02d}"
        cmd = [sys.executable, __file__, "train", a.data, str(out / f"{name}.npz"), *shlex.split(flags)]
        with open(out / f"{name}.log", "w") as log:  # the child writes to its own copy of the file
            procs.append((name, flags, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                                        env={**os.environ, "OMP_NUM_THREADS": "1"})))
    for name, flags, p in procs:
        p.wait()
        last = (out / f"{name}.log").read_text().strip().splitlines()[-1:] or [""]
        print(f"{name} [{flags}] exit {p.returncode}: {last[0]}", flush=True)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(required=True)
    w = sub.add_parser("windows", help="the corpus's windows into one .npz (here, with Cadenza installed)")
    w.add_argument("data")
    w.add_argument("out")
    w.add_argument("--max-files", type=int, default=0, help="only the first N files of each part (as train-groove's)")
    w.set_defaults(fn=cmd_windows)
    t = sub.add_parser("train", help="one run (PyTorch; a GPU when there is one)")
    t.add_argument("data")
    t.add_argument("out")
    # the settings of `cadenza train-groove` (bridge/training/config.py GrooveConfig), the same defaults
    for flag, default in (("batch", 64), ("lr", 1e-3), ("beta", 0.2), ("free-bits", 16.0), ("max-minutes", 30.0),
                          ("steps-per-epoch", 200), ("epochs", 200), ("patience", 10), ("seed", 0),
                          ("style-drop", 0.5), ("tempo-jitter", 0.1), ("dropout", 0.0)):
        t.add_argument(f"--{flag}", type=type(default), default=default)
    t.add_argument("--error", choices=("squared", "absolute"), default="squared")
    t.add_argument("--init", default="", help="start from the weights of this earlier run (.npz), for a longer one")
    t.add_argument("--arg", action="append", default=[], help="latent=, enc_units=, dec_units=, dec_bidi=true|false")
    t.set_defaults(fn=cmd_train)
    s = sub.add_parser("sweep", help="several runs at once, each its own process")
    s.add_argument("data")
    s.add_argument("out", help="a folder: runNN.npz and runNN.log for each run")
    s.add_argument("--run", action="append", required=True, help="one run's flags (repeat)")
    s.set_defaults(fn=cmd_sweep)
    a = p.parse_args(argv)
    a.fn(a)


if __name__ == "__main__":
    main()
