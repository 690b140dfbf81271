"""Cadenza's token LSTMs (piano, chorale, chorale-harmony, folk-chords, melody, ...) trained with PyTorch, on a
GPU when there is one: the same net (bridge/nets/lstm.py: embedding, the sounding pitches for note_state models,
LSTM layers each followed by dropout, logits), the same training stream, random windows, transpositions and
validation windows as `cadenza train`, its loss, Adam with Keras' epsilon and per-weight clipnorm, and early
stop on the same validation windows. Nothing needs it: `cadenza train` trains the same model on a CPU, in more
hours. PyTorch is not one of Cadenza's dependencies; this script alone imports it.

    # here: what `cadenza train` would read with these flags, and its first weights (or --init's), in one .npz
    python models/lstm_gpu.py windows ../shared/corpus/kern/bach-370-chorales --codec harmony \\
        --name chorale-harmony --init chorale-harmony --layers 2 --units 256 --dropout 0.3 --to harmony.npz
    # there (a GPU): one run; several at once are several processes
    python models/lstm_gpu.py train harmony.npz harmony-run.npz --batch 128 --lr 0.001 --max-minutes 8
    # here: the run saved as a model, with its record, once Keras gives its weights the run's validation loss
    cadenza train ../shared/corpus/kern/bach-370-chorales --codec harmony --name chorale-harmony-g \\
        --layers 2 --units 256 --dropout 0.3 --weights harmony-run.npz

A run writes one .npz: every layer's weights in Keras' layout by name (`<layer>/<i>`, bridge/nets
flat_weights: LSTM kernel, recurrent kernel, one bias, gates i, f, c, o; PyTorch's two biases summed) and
`record`, a JSON text: the flags of the windows, the run's own settings, the history, the seconds, the machine,
and the largest difference between PyTorch's logits and a plain numpy pass of the weights it writes.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository's bridge/


def cmd_windows(argv) -> None:
    """`cadenza train`'s flags (and --to OUT.npz): its data, split and first weights, into one .npz."""
    from bridge.flags import add_flags, config_of
    from bridge.training.train import TrainConfig, run_windows

    p = argparse.ArgumentParser(prog="lstm_gpu.py windows", description=cmd_windows.__doc__)
    add_flags(p, TrainConfig, skip=("weights", "distribute", "worker_timeout", "out"))
    for flag, kind in (("--layers", int), ("--units", int), ("--embed", int), ("--dropout", float)):
        p.add_argument(flag, type=kind)
    p.add_argument("--to", required=True, help="the .npz to write")
    a = p.parse_args(argv)
    cfg = config_of(TrainConfig, a)
    cfg.arch_args = {**{k: getattr(a, k) for k in ("layers", "units", "embed", "dropout") if getattr(a, k) is not None},
                     **cfg.arch_args}
    cfg.data = [Path(d) for d in cfg.data]
    arrays, meta = run_windows(cfg)
    Path(a.to).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(a.to, meta=json.dumps(meta), **arrays)
    print(f"{a.to}: {meta['train_tokens']} training tokens, {meta['val_tokens']} validation tokens "
          f"({len(arrays['val_x'])} windows of {cfg.seq_len}), layers {', '.join(meta['layers'])}")


def net(w: dict, meta: dict):
    """The PyTorch net of the first weights `w` ({"<layer>/<i>": array}), in Keras' numbers."""
    import torch
    from torch import nn

    args = meta["arch_args"]
    layers = [n for n in meta["layers"] if n.startswith("lstm_")]

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            V, E = w["embed/0"].shape
            self.embed = nn.Embedding(V, E)
            self.lstms = nn.ModuleList(nn.LSTM(w[f"{n}/0"].shape[0], w[f"{n}/1"].shape[0], batch_first=True)
                                       for n in layers)
            self.logits = nn.Linear(*w["logits/0"].shape)
            self.drop = nn.Dropout(float(args.get("dropout", 0.0)))
            self.notes = bool(args.get("note_state"))

        def forward(self, x, held=None, on=None, off=None):
            e = self.embed(x)
            if self.notes:  # bridge.nets.lstm.NoteState: the pitches sounding after each id
                d = (nn.functional.one_hot(on[x].clamp(min=0), 128) * (on[x] >= 0)[..., None]
                     - nn.functional.one_hot(off[x].clamp(min=0), 128) * (off[x] >= 0)[..., None])
                e = torch.cat([e, ((held[:, None, :] + d.float().cumsum(1)) > 0.5).float()], -1)
            for lstm in self.lstms:
                e, _ = lstm(e)
                e = self.drop(e)
            return self.logits(e)

    model = Net()
    sd = model.state_dict()

    def put(name, a):
        sd[name] = torch.from_numpy(np.ascontiguousarray(a, np.float32))

    put("embed.weight", w["embed/0"])
    for i, n in enumerate(layers):
        put(f"lstms.{i}.weight_ih_l0", w[f"{n}/0"].T)
        put(f"lstms.{i}.weight_hh_l0", w[f"{n}/1"].T)
        put(f"lstms.{i}.bias_ih_l0", w[f"{n}/2"])
        put(f"lstms.{i}.bias_hh_l0", np.zeros_like(w[f"{n}/2"]))
    put("logits.weight", w["logits/0"].T)
    put("logits.bias", w["logits/1"])
    model.load_state_dict(sd)
    return model, layers


def keras_weights(model, layers) -> dict:
    """{"<layer>/<i>": array} in Keras' layout: the inverse of `net`'s loading."""
    sd = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    out = {"embed/0": sd["embed.weight"], "logits/0": sd["logits.weight"].T, "logits/1": sd["logits.bias"]}
    for i, n in enumerate(layers):
        out[f"{n}/0"] = sd[f"lstms.{i}.weight_ih_l0"].T
        out[f"{n}/1"] = sd[f"lstms.{i}.weight_hh_l0"].T
        out[f"{n}/2"] = sd[f"lstms.{i}.bias_ih_l0"] + sd[f"lstms.{i}.bias_hh_l0"]
    return {k: np.ascontiguousarray(v) for k, v in out.items()}


def numpy_logits(w: dict, layers, x: np.ndarray, held=None, on=None, off=None) -> np.ndarray:
    """Keras' LSTM on the weights `w` by plain numpy, window by window, step by step: (B, T, V) logits."""
    def sig(v):
        return 0.5 * np.tanh(0.5 * v) + 0.5

    e = w["embed/0"][x]
    if held is not None:
        d = np.zeros(x.shape + (128,), np.float32)
        b, t = np.nonzero(on[x] >= 0)
        d[b, t, on[x][b, t]] += 1
        b, t = np.nonzero(off[x] >= 0)
        d[b, t, off[x][b, t]] -= 1
        e = np.concatenate([e, ((held[:, None, :] + d.cumsum(1)) > 0.5).astype(np.float32)], -1)
    for n in layers:
        k, r, bias = w[f"{n}/0"], w[f"{n}/1"], w[f"{n}/2"]
        U = r.shape[0]
        h = np.zeros((len(x), U), np.float32)
        c = np.zeros((len(x), U), np.float32)
        out = np.empty(e.shape[:2] + (U,), np.float32)
        z_in = e @ k + bias
        for t in range(e.shape[1]):
            z = z_in[:, t] + h @ r
            c = sig(z[:, U:2 * U]) * c + sig(z[:, :U]) * np.tanh(z[:, 2 * U:3 * U])
            h = sig(z[:, 3 * U:]) * np.tanh(c)
            out[:, t] = h
        e = out
    return e @ w["logits/0"] + w["logits/1"]


def cmd_train(argv) -> None:
    p = argparse.ArgumentParser(prog="lstm_gpu.py train", description="One run on the windows' .npz.")
    p.add_argument("data", help="the .npz `windows` wrote")
    p.add_argument("out", help="the run's .npz")
    p.add_argument("--batch", type=int, help="windows per step (default: the windows' flags')")
    p.add_argument("--lr", type=float, help="learning rate (default: the windows' flags')")
    p.add_argument("--steps-per-epoch", type=int, help="steps per epoch (default: the windows' flags')")
    p.add_argument("--epochs", type=int, help="at most this many epochs")
    p.add_argument("--patience", type=int, help="epochs without a better validation loss before stopping")
    p.add_argument("--max-minutes", type=float, help="stop after this long, keeping the best weights (0: no limit)")
    p.add_argument("--seed", type=int, default=-1, help="the windows and dropout drawn (default: the flags' draw)")
    p.add_argument("--device", default="", help="cuda or cpu (default: cuda when there is one)")
    p.add_argument("--lower", type=float, default=0.0,
                   help="when --patience epochs bring nothing better, go on from the best weights at this times the "
                        "learning rate instead of stopping (e.g. 0.3; default 0: stop)")
    p.add_argument("--lowerings", type=int, default=2, help="at most this many times (with --lower)")
    p.add_argument("--given-weight", type=float, default=1.0,
                   help="the loss's weight on tokens the model never draws (a harmony model's melody, given when it "
                        "harmonizes, and the end), the others' 1; below 1, the best weights are those best at the "
                        "rest (default 1: every token alike)")
    a = p.parse_args(argv)
    if not 0.0 <= a.lower < 1.0 or a.lowerings < 0 or not 0.0 <= a.given_weight <= 1.0:
        raise SystemExit("--lower is a factor from 0 (stop) up to 1, --lowerings a count, --given-weight 0 to 1")
    import torch

    d = np.load(a.data)
    meta = json.loads(str(d["meta"]))
    cfg = dict(meta["config"])
    for key in ("batch", "lr", "steps_per_epoch", "epochs", "patience", "max_minutes"):
        if getattr(a, key) is not None:
            cfg[key] = getattr(a, key)
    if a.seed >= 0:
        cfg["sample_seed"] = a.seed
    seed = cfg["seed"] if cfg["sample_seed"] < 0 else cfg["sample_seed"]
    dev = a.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if dev == "cuda":  # the same sums as the CPU: no TF32 products
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)

    w0 = {k[2:]: d[k] for k in d.files if k.startswith("w/")}
    model, layers = net(w0, meta)
    model.to(dev)
    stream = d["stream"].astype(np.int64)
    L, B = int(cfg["seq_len"]), int(cfg["batch"])
    n_starts = len(stream) - L - 1
    table = d["table"].astype(np.int64) if "table" in d.files else None
    notes = bool(meta["arch_args"].get("note_state"))
    on = off = counts = None
    if notes:
        on, off, counts = d["on"].astype(np.int64), d["off"].astype(np.int64), d["counts"]
        every = int(meta["note_every"])
    on_t = torch.from_numpy(on).to(dev) if notes else None
    off_t = torch.from_numpy(off).to(dev) if notes else None
    vx, vy = d["val_x"].astype(np.int64), d["val_y"].astype(np.int64)
    vheld = d["val_held"].astype(np.float32) if notes else None
    pick = d["val_pick"]

    def held_before(start: int, semis: int) -> np.ndarray:  # as make_datasets' held_before, moved with the window
        pre = stream[(start // every) * every:start]
        h = counts[start // every].astype(np.float64).copy()
        np.add.at(h, on[pre][on[pre] >= 0], 1)
        np.add.at(h, off[pre][off[pre] >= 0], -1)
        h = np.maximum(h, 0)
        src = np.arange(128) - semis
        return np.where((src >= 0) & (src < 128), h[np.clip(src, 0, 127)], 0.0).astype(np.float32)

    def batch():
        starts = rng.integers(0, n_starts, B)
        w = stream[starts[:, None] + np.arange(L + 1)]
        semis = np.zeros(B, np.int64)
        if table is not None:
            shift = rng.integers(0, len(table), B)
            moved = table[shift[:, None], w]
            ok = (moved >= 0).all(1)
            w = np.where(ok[:, None], moved, w)  # a shift out of range: the window as it is
            semis = np.where(ok, shift - int(cfg["transpose"]), 0)
        held = np.stack([held_before(int(s), int(k)) for s, k in zip(starts, semis)]) if notes else None
        return w[:, :-1], w[:, 1:], held

    def t(x):
        return None if x is None else torch.from_numpy(np.ascontiguousarray(x)).to(dev)

    weight = torch.ones(int(w0["logits/1"].shape[0]), device=dev)  # each target's weight in the loss
    if a.given_weight != 1.0:
        if "never_sampled" not in meta:
            raise SystemExit(f"{a.data}: written before --given-weight (no never_sampled): run `windows` again")
        weight[meta["never_sampled"]] = a.given_weight

    def loss_on(x, y, held, weighted=True):
        logits = model(t(x), t(held), on_t, off_t)
        return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), t(y).reshape(-1),
                                                 weight=weight if weighted else None)

    def val_loss(rows, weighted=False) -> float:
        model.eval()
        total = 0.0
        with torch.no_grad():
            for s in range(0, len(rows), 64):
                r = rows[s:s + 64]
                total += float(loss_on(vx[r], vy[r], vheld[r] if notes else None, weighted)) * len(r)
        model.train()
        return total / len(rows)

    opt = torch.optim.Adam(model.parameters(), lr=float(cfg["lr"]), eps=1e-7)  # Keras' epsilon
    params = list(model.parameters())
    hist = {"loss": [], "val_loss": [], "bits": [], "val_bits": []}
    best, best_state, waited = math.inf, None, 0
    rates = [[0, float(cfg["lr"])]]  # [epoch, learning rate] from that epoch on
    t0 = time.time()
    model.train()
    for epoch in range(int(cfg["epochs"])):
        run = 0.0
        for _ in range(int(cfg["steps_per_epoch"])):
            loss = loss_on(*batch())
            opt.zero_grad()
            loss.backward()
            for q in params:  # Keras' clipnorm: each weight's gradient on its own
                torch.nn.utils.clip_grad_norm_([q], 1.0)
            opt.step()
            run += loss.item()
        tl, vl = run / int(cfg["steps_per_epoch"]), val_loss(pick)
        for k, v in (("loss", tl), ("val_loss", vl), ("bits", tl / math.log(2)), ("val_bits", vl / math.log(2))):
            hist[k].append(round(v, 4))
        if a.given_weight != 1.0:  # the loss it trains on, and chooses its best weights by
            vl = val_loss(pick, weighted=True)
            hist.setdefault("val_loss_weighted", []).append(round(vl, 4))
        print(f"epoch {epoch + 1}: loss {tl:.4f}, validation {hist['val_loss'][-1]:.4f} "
              f"({hist['val_bits'][-1]:.4f} bits)" + (f", weighted {vl:.4f}" if a.given_weight != 1.0 else "")
              + f", {time.time() - t0:.0f} s", flush=True)
        if vl < best - 1e-4:
            best, best_state, waited = vl, {k: v.detach().clone() for k, v in model.state_dict().items()}, 0
        else:
            waited += 1
        late = cfg["max_minutes"] and time.time() - t0 > float(cfg["max_minutes"]) * 60
        if waited >= int(cfg["patience"]) and a.lower and len(rates) <= a.lowerings and not late:
            model.load_state_dict(best_state)  # on from the best weights, in smaller steps
            rates.append([epoch + 1, rates[-1][1] * a.lower])
            for group in opt.param_groups:
                group["lr"] = rates[-1][1]
            waited = 0
            print(f"learning rate {rates[-1][1]:.3g} from the best weights (validation {best:.4f})", flush=True)
        elif waited >= int(cfg["patience"]) or late:
            break
    seconds = time.time() - t0
    if best_state is not None:
        model.load_state_dict(best_state)
    full = val_loss(np.arange(len(vx)))
    weights = keras_weights(model, layers)
    rows = np.arange(min(2, len(vx)))
    model.eval()
    with torch.no_grad():
        theirs = model(t(vx[rows]), t(vheld[rows]) if notes else None, on_t, off_t).cpu().numpy()
    mine = numpy_logits(weights, layers, vx[rows], vheld[rows] if notes else None, on, off)
    check = float(np.abs(mine - theirs).max())
    if check > 1e-3:
        raise SystemExit(f"numpy and PyTorch disagree by {check} on these weights: not written")
    record = {"kind": "models/lstm_gpu.py", "config": cfg, "arch_args": meta["arch_args"], "split": meta["split"],
              "history": hist, "seconds": round(seconds, 1), "full_val_loss": round(full, 5),
              "epochs_run": len(hist["loss"]), "learning_rates": rates, "numpy_check": check,
              **({"given_weight": a.given_weight} if a.given_weight != 1.0 else {}), "torch": torch.__version__,
              "machine": f"PyTorch {torch.__version__} on {torch.cuda.get_device_name() if dev == 'cuda' else 'the CPU'}",
              **({"init_from": meta["init_from"]} if meta.get("init_from") else {})}
    np.savez(a.out, record=json.dumps(record), **weights)
    print(f"{a.out}: validation {full:.4f} nats ({full / math.log(2):.4f} bits) a token, {len(hist['loss'])} epochs, "
          f"{seconds:.0f} s; numpy check {check:.1e}")


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    commands = {"windows": cmd_windows, "train": cmd_train}
    if not argv or argv[0] not in commands:
        print(__doc__)
        raise SystemExit(f"usage: lstm_gpu.py {{{', '.join(commands)}}} ...")
    try:
        commands[argv[0]](argv[1:])
    except Exception as e:  # Cadenza's refusals: one line, not a traceback
        if type(e).__name__ != "CadenzaError":
            raise
        raise SystemExit(f"lstm_gpu.py {argv[0]}: {e}") from None


if __name__ == "__main__":
    main()
