"""Free-text scorer figures: per-concept precision/recall on honest answers, credit given to dishonest ones, ms/answer.

Run: python -m ftlab.bench scorer [--confusions]. Sets in ftlab/assessment/bank/samples/: explain.toml (tuned on),
holdout.toml (older held-out set, read while fixing mechanisms), adversarial.toml (by kind, written before the
phrasings; its confusions were read while fixing mechanisms), blind.toml (by kind, written last, never tuned on).
"""
from __future__ import annotations

import argparse
import re
import time
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field

from ftlab.assessment.bank import grade, load_bank
from ftlab.assessment.bank.loader import ITEMS_DIR
from ftlab.assessment.bank.scorer import Verdict, canon, compile_phrasing, score

SAMPLES = ITEMS_DIR.parent / "samples"
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


def keyword_baseline(answer: str, concepts) -> list[bool]:
    """The classic keyword matcher, for comparison: a concept counts if all words of one phrasing occur anywhere."""
    words = {canon(w) for w in re.findall(r"[a-z_]+", answer.lower())}
    return [any({w.stem for w in compile_phrasing(p)} <= words for p in c.phrasings) for c in concepts]


def measure(name: str, bank, baseline: bool = False) -> tuple[Tally, int]:
    """Score every sample of one file (or, with baseline, match keywords); the tally and the concept decisions."""
    samples = tomllib.loads((SAMPLES / name).read_text(encoding="utf-8"))["samples"]
    tally, decisions = Tally(), 0
    for sample in samples:
        item = bank.get(sample["item"])
        kind = sample.get("kind", "honest")
        result = grade(item, sample["answer"])
        scored = score(sample["answer"], item.concepts, prompt=item.prompt, hints=(getattr(item, "hint", ""),),
                       model_answer=getattr(item, "model_answer", "") or getattr(item, "answer", ""))
        hits = [d.verdict is Verdict.ASSERTED for d in scored.decisions]
        if baseline:
            hits = keyword_baseline(sample["answer"], item.concepts)
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
        tally.awarded[kind].append(sum(hits) / n)
        tally.unsure[kind].append(not result.confident and not baseline)
        if extra or lacking:
            tally.confusions.append(f"  [{kind}] {item.id}: +{extra} -{lacking} flags={list(result.flags)}\n"
                                    f"      {sample['answer'][:150]}")
    return tally, decisions


def per_answer_ms(bank, repeats: int = 3) -> tuple[float, float, float]:
    """Mean CPU ms per answer over all samples: cold (caches cleared), warm, and the keyword baseline warm."""
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
    start = time.process_time()
    for _ in range(repeats):
        for item, answer in answers:
            keyword_baseline(answer, item.concepts)
    base = (time.process_time() - start) * 1000 / (len(answers) * repeats)
    return cold, warm, base


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ftlab.bench scorer", description=__doc__.splitlines()[0])
    parser.add_argument("--confusions", action="store_true", help="print every answer with a wrong decision")
    parser.add_argument("--baseline", action="store_true", help="also score the sets with plain keyword matching")
    args = parser.parse_args(argv)
    bank = load_bank()
    for name, baseline in [(n, False) for n in SETS] + ([(n, True) for n in SETS] if args.baseline else []):
        tally, decisions = measure(name, bank, baseline)
        print(f"{'keyword baseline, ' if baseline else ''}{name}: {decisions} concept decisions; "
              f"honest precision {tally.precision:.3f}, recall {tally.recall:.3f}")
        for kind in sorted(tally.awarded):
            shares, extra, unsure = tally.awarded[kind], tally.excess[kind], tally.unsure[kind]
            print(f"  {kind:14s} n={len(shares):3d}  awarded {sum(shares) / len(shares):6.1%} of full  "
                  f"beyond expert {sum(extra) / len(extra):6.1%}  flagged unsure {sum(unsure)}/{len(unsure)}")
        if args.confusions:
            print("\n".join(tally.confusions))
    cold, warm, base = per_answer_ms(bank)
    print(f"CPU time per answer: {cold:.2f} ms cold (empty caches), {warm:.2f} ms warm; budget 5 ms: "
          f"{warm / 5:.2f} of it. Keyword baseline in the same process: {base:.3f} ms "
          f"(the scorer costs {warm / base:.0f}x)")


if __name__ == "__main__":
    main()
