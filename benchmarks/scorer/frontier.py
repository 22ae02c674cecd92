"""Can a model learned from labelled answers make the scorer's confidence better than its rules? Leave one blind set
out at a time, learn when the scorer is right (off by less than a point) from what it decided (credit, contradictions,
weak matches, flags, length) and compare, on the left-out set, the share confident and wrong and the share of honest
answers sent to a person with the rules' own `confident`.

Run: python benchmarks/scorer/frontier.py [SET.toml ...] (default: every blind*.toml here).
Needs scikit-learn (a dependency of ftlab).
"""
from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from ftlab.assessment.bank import Context
from ftlab.assessment.bank.grading import concept_decisions
from ftlab.assessment.bank.items import Explain
from ftlab.assessment.bank.scorer import Verdict
from ftlab.bench.scorer import DISHONEST, items_of

FLAGS = ("fragment", "self-contradiction", "keyword-list", "no-statement", "prompt-echo", "hint-echo")


def features(item, text: str) -> tuple[list[float], float, bool]:
    """What the scorer decided about one answer, as numbers; its points; whether its rules are sure."""
    most = float(len(item.concepts)) if isinstance(item, Explain) else 1.0
    result = concept_decisions(item, text, most, Context())
    n, ds = len(item.concepts), result.decisions
    credited = sum(d.verdict is Verdict.ASSERTED for d in ds)
    strengths = [d.strength for d in ds if d.verdict is Verdict.ASSERTED and not d.fragment] or [0]
    row = [n, most / n, credited / n, sum(d.verdict is Verdict.CONTRADICTED for d in ds) / n,
           sum(d.opposite_only for d in ds), sum(d.verdict is Verdict.ASSERTED and d.strength < 2 for d in ds),
           min(strengths), float(np.mean(strengths)), sum(bool(d.against) for d in ds),
           sum(bool(d.misconception) for d in ds), sum(bool(d.fragment) for d in ds), len(text.split()),
           float(result.confident), *(float(f in result.flags) for f in FLAGS)]
    return row, most * credited / n, result.confident


def load(paths: list[Path]):
    items = items_of(None)
    rows = []
    for path in paths:
        family = path.stem.split("-")[0]
        for a in tomllib.loads(path.read_text(encoding="utf-8"))["answers"]:
            item = items.get(a["item"])
            if item is None or not getattr(item, "concepts", None) or "labels" not in a:
                continue
            x, points, sure = features(item, a["text"])
            most = x[1] * x[0]
            label = most * sum(a["labels"].get(c.name) == "stated" for c in item.concepts) / len(item.concepts)
            rows.append((family, x, abs(points - label) < 1 - 1e-9, sure, not a["kind"].startswith(DISHONEST)))
    return rows


def main(argv: list[str]) -> None:
    here = Path(__file__).parent
    paths = [Path(p) for p in argv] or sorted(p for p in here.glob("blind*.toml"))
    rows = load(paths)
    family = np.array([r[0] for r in rows])
    X, right = np.array([r[1] for r in rows]), np.array([r[2] for r in rows])
    sure, honest = np.array([r[3] for r in rows]), np.array([r[4] for r in rows])
    left_out = sorted(set(family))

    def figures(confident, held):
        return np.mean(confident & ~right[held]), np.mean(~confident[honest[held]])

    rules = [figures(sure[family == f], family == f) for f in left_out]
    print(f"{len(rows)} labelled answers, sets left out in turn: {', '.join(left_out)}")
    print(f"  rules' own confidence: confident and wrong {np.mean([r[0] for r in rules]):.1%}, "
          f"honest sent to a person {np.mean([r[1] for r in rules]):.1%} (mean over the left-out sets)")
    for name, make in (("logistic regression", lambda: LogisticRegression(max_iter=2000)),
                       ("gradient boosting", lambda: GradientBoostingClassifier(n_estimators=100, max_depth=2))):
        for allowed in (0.015, 0.02, 0.03):
            out = []
            for f in left_out:
                train, held = family != f, family == f
                mu, sd = X[train].mean(0), X[train].std(0) + 1e-9
                model = make().fit((X[train] - mu) / sd, right[train])
                p_train = model.predict_proba((X[train] - mu) / sd)[:, 1]
                cut = next((t for t in np.linspace(0.3, 0.999, 300)
                            if np.mean((p_train >= t) & ~right[train]) <= allowed), 1.0)
                out.append(figures(model.predict_proba((X[held] - mu) / sd)[:, 1] >= cut, held))
            wrong, person = np.mean([o[0] for o in out]), np.mean([o[1] for o in out])
            print(f"  {name}, cut for {allowed:.1%} on the rest: confident and wrong {wrong:.1%}, "
                  f"honest sent to a person {person:.1%}")


if __name__ == "__main__":
    main(sys.argv[1:])
