"""Free-text scorer figures: per-concept precision/recall on honest answers, credit given to dishonest ones, ms/answer.

Run: PYTHONPATH=. python benchmarks/scorer.py [--confusions]. Sets in ftlab/bank/samples/: explain.toml (tuned on),
holdout.toml (older held-out set, read while fixing mechanisms), adversarial.toml (by kind, written before the
phrasings; its confusions were read while fixing mechanisms), blind.toml (by kind, written last, never tuned on).
"""
from __future__ import annotations

import argparse
import time
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ftlab.bank import grade, load_bank
from ftlab.bank.scorer import Verdict, score

SAMPLES = Path(__file__).parents[1] / "ftlab" / "bank" / "samples"
SETS = ("explain.toml", "holdout.toml", "adversarial.toml", "blind.toml")
HONEST = ("paraphrase", "partial", "honest")
ZERO_KINDS = ("keyword-list", "pasted-model", "pasted-names")


@dataclass
class Tally:
    """Concept decisions of one sample set: honest confusion counts and credit given beyond the expert's."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    excess: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # kind -> share over covers
    awarded: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # kind -> share awarded
    unsure: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    confusions: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / max(self.tp + self.fp, 1)

    @property
    def recall(self) -> float:
        return self.tp / max(self.tp + self.fn, 1)


def measure(name: str, bank) -> tuple[Tally, int]:
    """Score every sample of one file; returns the tally and the number of concept decisions."""
    samples = tomllib.loads((SAMPLES / name).read_text(encoding="utf-8"))["samples"]
    tally, decisions = Tally(), 0
    for sample in samples:
        item = bank.get(sample["item"])
        kind = sample.get("kind", "honest")
        result = grade(item, sample["answer"])
        scored = score(sample["answer"], item.concepts, prompt=item.prompt, hints=(getattr(item, "hint", ""),),
                       model_answer=getattr(item, "model_answer", "") or getattr(item, "answer", ""))
        hits = [d.verdict is Verdict.ASSERTED for d in scored.decisions]
        covers = set(sample["covers"])
        n = len(item.concepts)
        extra = [i for i, hit in enumerate(hits, 1) if hit and i not in covers]
        lacking = [i for i in covers if not hits[i - 1]]
        decisions += n
        if kind in HONEST:
            tally.tp += sum(hits[i - 1] for i in covers)
            tally.fp += len(extra)
            tally.fn += len(lacking)
        tally.excess[kind].append(len(extra) / n)
        tally.awarded[kind].append(result.score / result.max_score)
        tally.unsure[kind].append(not result.confident)
        if extra or lacking:
            tally.confusions.append(f"  [{kind}] {item.id}: +{extra} -{lacking} flags={list(result.flags)}\n"
                                    f"      {sample['answer'][:150]}")
    return tally, decisions


def per_answer_ms(bank, repeats: int = 3) -> tuple[float, float]:
    """Mean CPU ms per answer over all samples, cold (caches cleared) and warm."""
    from ftlab.bank.scorer import canon, compile_phrasing

    answers = []
    for name in SETS:
        answers += [(bank.get(s["item"]), s["answer"]) for s in
                    tomllib.loads((SAMPLES / name).read_text(encoding="utf-8"))["samples"]]
    canon.cache_clear()
    compile_phrasing.cache_clear()
    start = time.process_time()
    for item, answer in answers:
        grade(item, answer)
    cold = (time.process_time() - start) * 1000 / len(answers)
    start = time.process_time()
    for _ in range(repeats):
        for item, answer in answers:
            grade(item, answer)
    warm = (time.process_time() - start) * 1000 / (len(answers) * repeats)
    return cold, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--confusions", action="store_true", help="print every answer with a wrong decision")
    args = parser.parse_args()
    bank = load_bank()
    for name in SETS:
        tally, decisions = measure(name, bank)
        print(f"{name}: {decisions} concept decisions; honest precision {tally.precision:.3f}, "
              f"recall {tally.recall:.3f}")
        for kind in sorted(tally.awarded):
            shares, extra, unsure = tally.awarded[kind], tally.excess[kind], tally.unsure[kind]
            print(f"  {kind:14s} n={len(shares):3d}  awarded {sum(shares) / len(shares):6.1%} of full  "
                  f"beyond expert {sum(extra) / len(extra):6.1%}  flagged unsure {sum(unsure)}/{len(unsure)}")
        if args.confusions:
            print("\n".join(tally.confusions))
    cold, warm = per_answer_ms(bank)
    print(f"CPU time per answer: {cold:.2f} ms cold (empty caches), {warm:.2f} ms warm (target <= 5 ms)")


if __name__ == "__main__":
    main()
