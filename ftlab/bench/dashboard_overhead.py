"""Throughput cost of the live dashboard: the same fine-tuning run with and without it.

A benchmark, not a test: `python -m ftlab.bench dashboard-overhead [--steps 100 --pairs 3]` (part 5 of the suite
runs it in a process of its own).
Each pair runs both from the same pretrained weights, in a background thread as the dashboard does,
in alternating order (without first, then with first, ...); the ratio is the median over pairs, so
slow drifts in machine load and the advantage of going second cancel. It also prints the share of the run spent
inside the dashboard's redraws, which does not depend on other processes. The target is a cost of at most 5%.
"""
from __future__ import annotations

import argparse
import statistics
import threading
import time
from dataclasses import dataclass

import torch

import ftlab
from ftlab.teaching.dashboard import Dashboard


@dataclass
class OverheadConfig:
    steps: int = 100  # optimizer steps per run
    pairs: int = 3  # runs with and without the dashboard
    batch_size: int = 20
    refresh_s: float = 0.5  # the dashboard's default redraw interval
    target: float = 0.05  # largest acceptable throughput cost


def _run(cfg: OverheadConfig, data: ftlab.Splits, with_dashboard: bool) -> tuple[float, float, str]:
    """(images per second, seconds spent redrawing, device) of one full fine-tuning run."""
    torch.manual_seed(0)
    model = ftlab.get_model("glyphnet", num_classes=10)
    trainer = ftlab.Trainer(model, data.train, data.val.subset(torch.arange(100)), lr=0.01,
                            batch_size=cfg.batch_size, log_every=5, progress=False)
    epochs = -(-cfg.steps * cfg.batch_size // len(data.train))
    started = time.perf_counter()
    if with_dashboard:
        dash = Dashboard(trainer, epochs=epochs, max_steps=cfg.steps, refresh_s=cfg.refresh_s)
        started = time.perf_counter()
        dash.start()
        dash.wait()
        redraws = dash.refresh_seconds
        dash.close()
    else:
        run = threading.Thread(target=trainer.fit, kwargs={"epochs": epochs, "max_steps": cfg.steps})
        run.start()
        run.join()
        redraws = 0.0
    seconds = time.perf_counter() - started
    if trainer.step != cfg.steps:
        raise RuntimeError(f"the run stopped at step {trainer.step} of {cfg.steps} (status {trainer.status})")
    return cfg.steps * cfg.batch_size / seconds, redraws / seconds, trainer.describe()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ftlab.bench dashboard-overhead",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=OverheadConfig.steps, help="optimizer steps per run")
    parser.add_argument("--pairs", type=int, default=OverheadConfig.pairs, help="runs with and without the dashboard")
    cfg = OverheadConfig(**vars(parser.parse_args(argv)))
    data = ftlab.load_target("glyph-digits", labels_per_class=50)
    _run(OverheadConfig(steps=5, pairs=1), data, True)  # warm-up: first-call costs land in neither column
    ratios, shares, rates = [], [], {False: [], True: []}
    for pair in range(cfg.pairs):
        if pair % 2:
            with_dash, share, _ = _run(cfg, data, True)
            without, _, device = _run(cfg, data, False)
        else:
            without, _, device = _run(cfg, data, False)
            with_dash, share, _ = _run(cfg, data, True)
        rates[False].append(without)
        rates[True].append(with_dash)
        ratios.append(with_dash / without)
        shares.append(share)
        print(f"pair {pair + 1}: {without:7.1f} images/s without, {with_dash:7.1f} with (ratio {ratios[-1]:.3f})")
    ratio = statistics.median(ratios)
    verdict = "OK" if 1 - ratio <= cfg.target else "OVER TARGET"
    print(f"\n{device}, full fine-tuning, {cfg.steps} steps of {cfg.batch_size} images, {cfg.pairs} pairs")
    print(f"median throughput: {statistics.median(rates[False]):.1f} images/s without the dashboard, "
          f"{statistics.median(rates[True]):.1f} with")
    print(f"throughput ratio with/without: {ratio:.3f} (cost {100 * (1 - ratio):+.1f}%; "
          f"target: cost at most {100 * cfg.target:.0f}%) {verdict}")
    print(f"time inside dashboard redraws: {100 * statistics.median(shares):.2f}% of the run")


if __name__ == "__main__":
    main()
