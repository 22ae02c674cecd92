"""Where a cached head-only epoch's time goes: snapshots, NaN/inf checks, per-step checks, and the head's own work.

Usage: python -m ftlab.bench cache-breakdown  (CPU, 1 thread, process CPU time, medians; see RESULTS.md, part 3)
"""
from __future__ import annotations

import argparse
import statistics as st

import torch

import ftlab
from ftlab.bench.timing import Workload, build_model, synthetic, timed


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(prog="python -m ftlab.bench cache-breakdown", description=__doc__.splitlines()[0]
                            ).parse_args(argv)
    torch.set_num_threads(1)
    dev = torch.device("cpu")
    for w in [Workload("glyphnet", 32, 64, 16), Workload("resnet18", 64, 32, 4)]:
        m = build_model(w)
        ftlab.freeze(m)
        ftlab.unfreeze(m, "head")
        d = synthetic(m, w.batch * w.steps, w.size)
        t = ftlab.Trainer(m, d, None, lr=0.01, batch_size=w.batch, progress=False, device="cpu")
        t.fit(1)
        epoch = st.median(timed(lambda: t.fit(1), dev, "cpu") for _ in range(7))
        snap = st.median(timed(lambda: t._rollback.take(t.step), dev, "cpu") for _ in range(7))
        before_fit = st.median(timed(lambda: t._check_before_fit(1, None), dev, "cpu") for _ in range(7))
        read_back = st.median(timed(t._rollback.changed_nonfinite, dev, "cpu") for _ in range(7))
        n = 200
        cached = st.median(timed(lambda: [t._cached() for _ in range(n)], dev, "cpu") for _ in range(5)) / n
        feats, y, h = t.features(d), d.labels, t.head
        opt = torch.optim.SGD(h.parameters(), lr=0.01, momentum=0.9)

        def plain_cached_epoch():
            order = torch.randperm(len(y))
            for i in range(0, len(y), w.batch):
                idx = order[i:i + w.batch]
                loss = torch.nn.functional.cross_entropy(h(feats[idx]).float(), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()

        plain = st.median(timed(plain_cached_epoch, dev, "cpu") for _ in range(7))
        snaps = 1 + -(-w.steps // t.cfg.log_every)  # at the start of fit and at each read-back
        print(f"{w.label}: ftlab cached epoch {epoch * 1e3:.1f} ms CPU; snapshot {snap * 1e3:.2f} ms x {snaps} "
              f"= {snaps * snap * 1e3:.1f} ms; _cached() {cached * 1e6:.0f} us x {w.steps} steps "
              f"= {cached * w.steps * 1e3:.2f} ms; NaN/inf checks: before the fit {before_fit * 1e3:.2f} ms, at each "
              f"read-back {read_back * 1e3:.2f} ms; plain loop on the cached features {plain * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
