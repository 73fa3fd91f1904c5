#!/usr/bin/python3
"""PyTorch (CPU) peer of the bhembed peer benchmark: trains the model described by a peer dump's meta.json
on the exact embedding rows bhembed computed (bench/peers/dump.ts), then prints ONE JSON line of measurements.
It must stay a faithful, plain PyTorch implementation: no tricks bhembed does not also get.

  /usr/bin/python3 bench/peers/torch_ctr.py DUMP_DIR [--threads 1|2] [--epochs N] [--batch1 N]
"""
import argparse
import json
import os
import platform
import resource
import sys
import time


def _threads_from_argv():
    for i, a in enumerate(sys.argv):
        if a == "--threads" and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return "1"


# Debian's torch calls the system BLAS (BLAS_INFO=generic): with libopenblas0-pthread installed that is
# OpenBLAS, whose own thread pool must match torch.set_num_threads. Set before numpy/torch load it.
os.environ["OPENBLAS_NUM_THREADS"] = _threads_from_argv()
os.environ["OMP_NUM_THREADS"] = _threads_from_argv()
# On a shared 2-core box, spinning OpenMP workers starve OpenBLAS's own threads (measured 3.6k vs 6.2k
# samples/s at 2 threads); passive waiting is the better of the two stock settings.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch
import torch.nn as nn


def load_split(d, meta, split):
    n = meta["n"][split]
    labels = np.fromfile(os.path.join(d, f"{split}.labels.f32"), dtype="<f4")
    assert labels.size == n, f"{d}/{split}.labels.f32: {labels.size} labels, meta says {n}"
    if meta["layout"] == "values":
        F = len(meta["fields"])
        values = np.fromfile(os.path.join(d, f"{split}.values.i32"), dtype="<i4").reshape(n, F)
        return torch.from_numpy(values), torch.from_numpy(labels)
    rows = np.fromfile(os.path.join(d, f"{split}.rows.i32"), dtype="<i4").reshape(n, meta["rowsPerSample"])
    return torch.from_numpy(rows), torch.from_numpy(labels)


class RowSource:
    """Turns sample indices into the (B, ΣK) int64 row tensor for both dump layouts."""

    def __init__(self, d, meta):
        self.layout = meta["layout"]
        self.tables = None
        if self.layout == "values":
            self.tables = []
            for f, fd in enumerate(meta["fields"]):
                t = np.fromfile(os.path.join(d, f"field{f}.rows.i32"), dtype="<i4").reshape(-1, fd["rowsPerValue"])
                self.tables.append(torch.from_numpy(t.astype(np.int64)))

    def rows(self, data, idx):
        x = data[idx] if idx is not None else data
        if self.layout == "rows":
            return x.long()
        return torch.cat([t[x[:, f].long()] for f, t in enumerate(self.tables)], dim=1)


class CtrNet(nn.Module):
    """Per field: sum of its K embedding rows (EmbeddingBag 'sum') → concat → MLP (ReLU) → logit.
    DeepFM adds a first-order term (a dim-1 table over the same rows) and the FM pairwise term on the field vectors."""

    def __init__(self, meta, sparse):
        super().__init__()
        self.fields = meta["fields"]
        self.deepfm = meta["arch"] == "deepfm"
        dim = meta["dim"]
        std = meta["init"]["embeddingStd"]
        self.embs = nn.ModuleList()
        self.lins = nn.ModuleList()
        for fd in self.fields:
            e = nn.EmbeddingBag(fd["numRows"], dim, mode="sum", sparse=sparse)
            nn.init.normal_(e.weight, 0.0, std)
            self.embs.append(e)
            if self.deepfm:
                l = nn.EmbeddingBag(fd["numRows"], 1, mode="sum", sparse=sparse)
                nn.init.zeros_(l.weight)  # meta.init.linear == 'zeros'
                self.lins.append(l)
        # DeepFM's own linear bias (bhembed keeps it apart from the deep tower's output bias).
        self.lin_bias = nn.Parameter(torch.zeros(1)) if self.deepfm else None
        layers = []
        width = dim * len(self.fields)
        for h in meta["mlp"]:
            lin = nn.Linear(width, h)
            nn.init.xavier_uniform_(lin.weight)
            nn.init.zeros_(lin.bias)
            layers += [lin, nn.ReLU()]
            width = h
        out = nn.Linear(width, 1)
        nn.init.xavier_uniform_(out.weight)
        nn.init.zeros_(out.bias)
        layers.append(out)
        self.mlp = nn.Sequential(*layers)

    def embedding_parameters(self):
        return list(self.embs.parameters()) + list(self.lins.parameters())

    def dense_parameters(self):
        return list(self.mlp.parameters()) + ([self.lin_bias] if self.lin_bias is not None else [])

    def forward(self, rows):
        vs = []
        first = None
        for f, fd in enumerate(self.fields):
            o, k = fd["offset"], fd["rowsPerValue"]
            idx = rows[:, o : o + k]
            vs.append(self.embs[f](idx))
            if self.deepfm:
                w = self.lins[f](idx)
                first = w if first is None else first + w
        x = torch.cat(vs, dim=1)
        logit = self.mlp(x).squeeze(1)
        if self.deepfm:
            v = torch.stack(vs, dim=1)  # (B, F, dim)
            s = v.sum(dim=1)
            fm = 0.5 * (s * s - (v * v).sum(dim=1)).sum(dim=1)
            logit = logit + first.squeeze(1) + self.lin_bias + fm
        return logit


def roc_auc(labels, scores):
    """Rank AUC (Mann–Whitney U) with average ranks for ties; sklearn is not assumed."""
    labels = np.asarray(labels, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(scores, kind="mergesort")
    s = scores[order]
    ranks = np.empty(len(s), dtype=np.float64)
    i = 0
    n = len(s)
    # average rank of each tie group
    boundaries = np.flatnonzero(np.diff(s)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [n]))
    for a, b in zip(starts, ends):
        ranks[a:b] = (a + b - 1) / 2.0 + 1.0
    full = np.empty(n, dtype=np.float64)
    full[order] = ranks
    pos = labels > 0.5
    npos = int(pos.sum())
    nneg = n - npos
    if npos == 0 or nneg == 0:
        return float("nan")
    return float((full[pos].sum() - npos * (npos + 1) / 2.0) / (npos * nneg))


def log_loss(labels, probs):
    p = np.clip(np.asarray(probs, dtype=np.float64), 1e-7, 1 - 1e-7)
    y = np.asarray(labels, dtype=np.float64)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def blas_name():
    """Which BLAS the process actually mapped (Debian's torch uses the libblas.so.3 alternative)."""
    try:
        with open("/proc/self/maps") as fh:
            maps = fh.read()
    except OSError:
        return "unknown"
    for name in ("openblas", "mkl", "blis", "atlas"):
        if name in maps:
            return name
    return "reference" if "libblas" in maps else "unknown"


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def measure_int8(model, src, xte, m, k1):
    """PyTorch's own int8 serving path: torch.ao.quantization.quantize_dynamic on the MLP's Linear layers (int8
    weights per tensor, activations quantized per batch), the embedding bags unchanged. Debian's torch 1.13 has no
    fbgemm; onednn is its x86 int8 engine (qnnpack measured ~5x slower than fp32 here)."""
    engines = torch.backends.quantized.supported_engines
    engine = "onednn" if "onednn" in engines else ("fbgemm" if "fbgemm" in engines else None)
    if engine is None:
        return {"int8Engine": "none"}
    torch.backends.quantized.engine = engine
    q = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    q.eval()
    probs = np.empty(m, dtype=np.float32)
    with torch.no_grad():
        q(src.rows(xte[0:4096], None))  # warm-up: onednn builds its primitives on first use
        t1 = time.perf_counter()
        for s in range(0, m, 4096):
            rows = src.rows(xte[s : s + 4096], None)
            probs[s : s + 4096] = torch.sigmoid(q(rows)).numpy()
        infer_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        for i in range(k1):
            rows = src.rows(xte[i : i + 1], None)
            torch.sigmoid(q(rows))
        infer1_s = time.perf_counter() - t2
    return {
        "int8Engine": engine,
        "inferSamplesPerSec4096Int8": m / infer_s,
        "inferSamplesPerSec1Int8": k1 / infer1_s,
        "probs": probs,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dump")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--batch1", type=int, default=2000, help="samples timed one at a time")
    ap.add_argument("--no-int8", action="store_true", help="skip the dynamic-quantized (int8 Linear) inference leg")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    with open(os.path.join(args.dump, "meta.json")) as fh:
        meta = json.load(fh)
    torch.manual_seed(meta["seed"])
    epochs = args.epochs if args.epochs is not None else meta["epochs"]
    B = meta["batch"]
    opt = meta["optimizer"]
    sparse = opt["embedding"] == "sparse_adam"

    t_load = time.perf_counter()
    src = RowSource(args.dump, meta)
    xtr, ytr = load_split(args.dump, meta, "train")
    xte, yte = load_split(args.dump, meta, "test")
    load_s = time.perf_counter() - t_load

    model = CtrNet(meta, sparse)
    betas = (opt["beta1"], opt["beta2"])
    if sparse:
        optims = [
            torch.optim.Adam(model.dense_parameters(), lr=meta["lr"], betas=betas, eps=opt["eps"]),
            torch.optim.SparseAdam(model.embedding_parameters(), lr=meta["lr"], betas=betas, eps=opt["eps"]),
        ]
    else:
        optims = [torch.optim.Adam(model.parameters(), lr=meta["lr"], betas=betas, eps=opt["eps"])]
    loss_fn = nn.BCEWithLogitsLoss()

    n = xtr.shape[0]
    gen = torch.Generator().manual_seed(meta["seed"])
    model.train()
    last_loss = float("nan")
    t0 = time.perf_counter()
    steps = 0
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        ep_loss = 0.0
        ep_n = 0
        for s in range(0, n, B):
            idx = perm[s : s + B]
            rows = src.rows(xtr, idx)
            y = ytr[idx]
            for o in optims:
                o.zero_grad(set_to_none=True)
            loss = loss_fn(model(rows), y)
            loss.backward()
            for o in optims:
                o.step()
            ep_loss += float(loss) * len(idx)
            ep_n += len(idx)
            steps += 1
        last_loss = ep_loss / max(1, ep_n)
    train_s = time.perf_counter() - t0

    model.eval()
    m = xte.shape[0]
    probs = np.empty(m, dtype=np.float32)
    with torch.no_grad():
        t1 = time.perf_counter()
        for s in range(0, m, 4096):
            rows = src.rows(xte[s : s + 4096], None)
            probs[s : s + 4096] = torch.sigmoid(model(rows)).numpy()
        infer_s = time.perf_counter() - t1
        k1 = min(args.batch1, m)
        t2 = time.perf_counter()
        for i in range(k1):
            rows = src.rows(xte[i : i + 1], None)
            torch.sigmoid(model(rows))
        infer1_s = time.perf_counter() - t2

    y = yte.numpy()
    peak_rss = peak_rss_mb()  # before the int8 model exists, so the fp32 figure is unchanged
    int8 = {} if args.no_int8 else measure_int8(model, src, xte, m, k1)
    if "probs" in int8:
        p8 = int8.pop("probs")
        int8["aucInt8"] = roc_auc(y, p8)
        int8["loglossInt8"] = log_loss(y, p8)
    out = {
        "leg": "torch",
        "config": meta["name"],
        "threads": args.threads,
        "framework": f"torch {torch.__version__}",
        "embeddingOptimizer": "SparseAdam" if sparse else "Adam",
        "epochs": epochs,
        "trainSamples": n * epochs,
        "trainSeconds": train_s,
        "trainSamplesPerSec": n * epochs / train_s,
        "inferSamplesPerSec4096": m / infer_s,
        "inferSamplesPerSec1": k1 / infer1_s,
        "peakRssMB": peak_rss,
        "auc": roc_auc(y, probs),
        "logloss": log_loss(y, probs),
        "finalTrainLoss": last_loss,
        "loadSeconds": load_s,
        "python": platform.python_version(),
        "blas": blas_name(),
        **int8,
        **({} if args.no_int8 else {"peakRssMBInt8": peak_rss_mb()}),
    }
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
