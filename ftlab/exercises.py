"""Coding exercises checked on the student's live PyTorch objects, with hints, solutions and diagnoses."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import torch
from torch import nn

from ftlab.bank.items import Grade, Outcome
from ftlab.freezing import eval_mode
from ftlab.inspector import optimizer_fit
from ftlab.measure import count_parameters
from ftlab.models import find_head, last_linear
from ftlab.selfquiz.exercise_link import exercise_checked

# AttributeError text -> why the seed quizzes' wrong snippets fail in PyTorch.
KNOWN_ERRORS = {
    "freeze_layers": "nn.Module has no freeze_layers() method, so that line raises AttributeError and freezes "
                     "nothing. PyTorch freezes tensors: set requires_grad = False on each parameter.",
    "layers": "PyTorch modules have no .layers list (that is Keras vocabulary), so the loop raises AttributeError. "
              "Iterate model.parameters() (or model.children()); and trainable = True would mean 'keep training' "
              "anyway, the opposite of freezing.",
}
ATTRIBUTE_TRAPS = {
    "trainable": "`{where}.trainable = ...` only stores a plain Python attribute that PyTorch never reads "
                 "(it is a Keras flag), so every parameter still trains.",
    "requires_grad": "`{where}.requires_grad = False` on a module only stores a plain attribute and freezes "
                     "nothing; call `{where}.requires_grad_(False)` (with the underscore) or set it on each "
                     "parameter.",
}


def probe(model: nn.Module) -> torch.Tensor | None:
    """Forward one small dummy image with grad enabled and every module in eval mode, restoring modes after."""
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        return None
    size = getattr(model, "image_size", 32)
    try:
        with eval_mode(model, exact=True), torch.enable_grad():
            return model(torch.zeros(1, convs[0].in_channels, size, size))
    except RuntimeError:
        return None


def trainable_body(model: nn.Module, head: nn.Module) -> list[str]:
    """Names of the parameters outside the head that still require gradients."""
    head_ids = {id(p) for p in head.parameters()}
    return [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in head_ids]


def attribute_traps(model: nn.Module) -> str | None:
    """Explain plain attributes like `model.trainable = False` that look like freezing but are not."""
    for name, module in model.named_modules():
        for attr, message in ATTRIBUTE_TRAPS.items():
            if attr in vars(module):
                return message.format(where=f"model.{name}" if name else "model")
    return None


class CodingExercise(ABC):
    """Base of every exercise: check(**live objects) -> Grade, hint(), solution(), check_code(snippet)."""

    id: ClassVar[str]
    needs: ClassVar[tuple[str, ...]] = ("model",)
    hint_text: ClassVar[str]
    solution_text: ClassVar[str]

    def hint(self) -> str:
        """A nudge that does not give the code away."""
        return self.hint_text

    def solution(self) -> str:
        """Working code, to read after trying."""
        return self.solution_text

    def check(self, **objects: Any) -> Grade:
        """Grade a learner's live objects (see verify); a failed check makes the concept's recall cards due now in
        the learner's revision, when they keep a progress store."""
        return exercise_checked(self.id, self.verify(**objects))

    def verify(self, **objects: Any) -> Grade:
        """Grade the live objects and touch nothing else (the course grader's path); missing ones give
        NotAttempted, a non-Module model Incorrect."""
        lacking = [name for name in self.needs if objects.get(name) is None]
        if lacking:
            call = ", ".join(f"{n}={n}" for n in self.needs)
            return self.grade(False, f"Pass your objects: check({call}). Missing: {', '.join(lacking)}.",
                              outcome=Outcome.NOT_ATTEMPTED)
        if not isinstance(objects["model"], nn.Module):
            return self.grade(False, f"`model` should be a torch.nn.Module, got {type(objects['model']).__name__}.")
        return self._check(**{name: objects[name] for name in self.needs})

    def check_code(self, code: str, **objects: Any) -> Grade:
        """Run a snippet on the given objects and grade the result, explaining known wrong snippets."""
        namespace = {"torch": torch, "nn": nn, **objects}
        try:
            exec(code, namespace)  # the student's own code, in their own process
        except AttributeError as err:
            why = next((text for attr, text in KNOWN_ERRORS.items() if f"'{attr}'" in str(err)), None)
            return exercise_checked(self.id, self.grade(False, f"Your code raised AttributeError: {err}.",
                                                        diagnosis=why))
        except Exception as err:  # any error in student code becomes feedback
            return exercise_checked(self.id, self.grade(False, f"Your code raised {type(err).__name__}: {err}."))
        return self.check(**{name: namespace.get(name) for name in self.needs})

    def grade(self, correct: bool, feedback: str, diagnosis: str | None = None,
              outcome: Outcome | None = None) -> Grade:
        """Build this exercise's one-point Grade."""
        return Grade(self.id, float(correct), 1.0, correct, feedback, diagnosis=diagnosis, outcome=outcome)

    @abstractmethod
    def _check(self, **objects: Any) -> Grade:
        """Grade well-typed objects; each exercise says what correct means."""


class FreezeAll(CodingExercise):
    """Freeze every parameter of a pretrained model."""

    id = "ex-freeze-all"
    hint_text = "Loop over model.parameters() and switch off gradient tracking on each tensor."
    solution_text = "for param in model.parameters():\n    param.requires_grad = False\n" \
                    "# or, equivalently: model.requires_grad_(False)"

    def _check(self, model: nn.Module) -> Grade:
        params = list(model.named_parameters())
        live = [name for name, p in params if p.requires_grad]
        if live:
            return self.grade(False, f"{len(live)} of {len(params)} parameter tensors still have requires_grad=True "
                                     f"(first: {live[0]}).", diagnosis=attribute_traps(model))
        if not params:
            return self.grade(False, "This model has no parameters at all; pass the pretrained model.")
        out = probe(model)
        if out is not None and out.requires_grad:
            return self.grade(False, "A forward pass still builds a graph: something in the model still trains.")
        return self.grade(True, f"All {len(params)} parameter tensors are frozen and a forward pass tracks no "
                                f"gradients: sum(p.requires_grad for p in model.parameters()) == 0.")


class ReplaceHead(CodingExercise):
    """Freeze the body and give the model a new, trainable 5-class head."""

    id = "ex-replace-head"
    num_classes: int = 5

    def __init__(self, num_classes: int = 5):
        self.num_classes = num_classes  # the course grades a variant whose answer is not this exercise's solution
    hint_text = "Freeze first, then assign a fresh nn.Linear to the head attribute (fc for ResNet, head for " \
                "GlyphNet); reuse the old layer's in_features."
    solution_text = "model.requires_grad_(False)\nmodel.fc = nn.Linear(model.fc.in_features, 5)  " \
                    "# GlyphNet: model.head = nn.Linear(model.head.in_features, 5)"

    def _check(self, model: nn.Module) -> Grade:
        name, head = find_head(model)
        linear = last_linear(head)
        outputs = linear.out_features if linear is not None else None
        if outputs != self.num_classes:
            why = ("The head still has 1000 outputs, one per ImageNet class: it was never replaced."
                   if outputs == 1000 else None)
            return self.grade(False, f"model.{name} has {outputs} outputs; the task has {self.num_classes} classes.",
                              diagnosis=why)
        out = probe(model)
        if out is None or out.shape[-1] != self.num_classes:
            return self.grade(False, "A forward pass fails or gives the wrong width.",
                              diagnosis="The new Linear's in_features must equal the old head's in_features.")
        if not all(p.requires_grad for p in head.parameters()):
            return self.grade(False, f"model.{name} is frozen, so nothing will learn.",
                              diagnosis="You froze after replacing the head, which froze the new head too.")
        body = trainable_body(model, head)
        if body:
            return self.grade(False, f"The head is right, but {len(body)} body tensors still train (first: "
                                     f"{body[0]}); freeze the body first.", diagnosis=attribute_traps(model))
        return self.grade(True, f"model.{name} now maps to {self.num_classes} classes, trains, and the body is frozen.")


class TrainableOptimizer(CodingExercise):
    """Build an optimizer that holds exactly the parameters that train."""

    id = "ex-optimizer-trainable"
    needs = ("model", "optimizer")
    hint_text = "Create the optimizer last, after freezing and replacing the head, from the parameters whose " \
                "requires_grad is True."
    solution_text = "trainable = [p for p in model.parameters() if p.requires_grad]\n" \
                    "optimizer = torch.optim.SGD(trainable, lr=1e-3, momentum=0.9)"

    def _check(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> Grade:
        if not isinstance(optimizer, torch.optim.Optimizer):
            return self.grade(False, f"`optimizer` should be a torch.optim.Optimizer, got {type(optimizer).__name__}.")
        fit = optimizer_fit(model, optimizer)
        if not fit.trainable:
            return self.grade(False, "The model has no trainable parameters; replace or unfreeze the head first.")
        if fit.stale:
            return self.grade(False, f"The optimizer holds {fit.stale} tensors that are no longer in the model.",
                              diagnosis="Optimizer built before replacing the head: it updates the old head and "
                                        "misses the new one.")
        if fit.frozen:
            return self.grade(False, f"The optimizer holds {len(fit.frozen)} frozen tensors.",
                              diagnosis="Optimizer built before freezing (or from model.parameters()): it carries "
                                        "tensors that never train, and would apply any stale .grad left on them.")
        if fit.missing:
            return self.grade(False, f"{len(fit.missing)} trainable tensors are not in the optimizer (first: "
                                     f"{sorted(fit.missing)[0]}), so they would never update.")
        return self.grade(True, f"The optimizer holds exactly the {len(fit.trainable)} trainable tensors.")


class DiscriminativeLR(CodingExercise):
    """Give unfrozen body layers a lower learning rate than the head."""

    id = "ex-discriminative-lr"
    needs = ("model", "optimizer")
    hint_text = "Pass a list of parameter groups, one dict per group, each with its own 'lr'; the head's group " \
                "gets the larger value."
    solution_text = "model.requires_grad_(False)\nmodel.layer4.requires_grad_(True)\nmodel.fc.requires_grad_(True)\n" \
                    "optimizer = torch.optim.SGD([\n    {'params': model.layer4.parameters(), 'lr': 1e-4},\n" \
                    "    {'params': model.fc.parameters(), 'lr': 1e-3},\n], momentum=0.9)"

    def _check(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> Grade:
        if not isinstance(optimizer, torch.optim.Optimizer):
            return self.grade(False, f"`optimizer` should be a torch.optim.Optimizer, got {type(optimizer).__name__}.")
        fit = optimizer_fit(model, optimizer)
        if fit.head is None:
            return self.grade(False, "The model has no head: no fc/head/classifier module and no Linear layer.")
        if not fit.head_unheld and not fit.head_lrs:
            return self.grade(False, f"model.{fit.head} has no parameters, so nothing in it can learn; give it a new "
                                     f"nn.Linear.")
        if fit.head_unheld:
            return self.grade(False, "Some head parameters are missing from the optimizer.")
        if not fit.body_lrs:
            return self.grade(False, "No trainable body layer is in the optimizer: unfreeze a late stage and give "
                                     "it its own parameter group.")
        if not fit.numeric_lrs:
            return self.grade(False, "A parameter group has no numeric learning rate; give each group an 'lr'.")
        if not fit.discriminative:
            return self.grade(False, f"Body lr {max(fit.body_lrs):g} is not lower than head lr {min(fit.head_lrs):g}.",
                              diagnosis="Pretrained layers need smaller steps than the new head; a large learning "
                                        "rate overwrites the features they learned.")
        return self.grade(True, f"Body lr {max(fit.body_lrs):g} < head lr {min(fit.head_lrs):g}: the pretrained "
                                f"layers move gently while the new head learns fast.")


class FrozenBatchNorm(CodingExercise):
    """Keep frozen BatchNorm layers in eval mode while the rest of the model trains."""

    id = "ex-frozen-batchnorm"
    hint_text = "Freezing stops weight updates but not running statistics; after model.train(), switch the frozen " \
                "BatchNorm modules back with .eval()."
    solution_text = "model.requires_grad_(False)\nmodel.fc.requires_grad_(True)\nmodel.train()\n" \
                    "for m in model.modules():\n    if isinstance(m, nn.BatchNorm2d):\n        m.eval()"

    def _check(self, model: nn.Module) -> Grade:
        norms = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if not norms:
            return self.grade(False, "This model has no BatchNorm layers; use resnet18 or GlyphNet.")
        trainable = [n for n, m in norms if any(p.requires_grad for p in m.parameters())]
        if trainable:
            return self.grade(False, f"{len(trainable)} BatchNorm layers still have trainable weights (first: "
                                     f"{trainable[0]}); freeze the body first.")
        drifting = [n for n, m in norms if m.training]
        if drifting:
            return self.grade(False, f"{len(drifting)} frozen BatchNorm layers are in train mode (first: "
                                     f"{drifting[0]}).",
                              diagnosis="BatchNorm still in train mode: its weights are frozen, but it keeps "
                                        "overwriting running_mean/running_var with statistics of your small batches.")
        _, head = find_head(model)
        if not head.training:
            return self.grade(False, "The head is in eval mode too; call model.train() before re-freezing BatchNorm.")
        return self.grade(True, f"All {len(norms)} frozen BatchNorm layers use their stored statistics while the "
                                f"head trains.")


# ---- exercises added for the lessons' "your turn" sections (lessons/) -------------------------------------
def blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's top-level children that hold parameters, input side first (ResNet: conv1 ... fc)."""
    return [(n, m) for n, m in model.named_children() if any(True for _ in m.parameters())]


def _trainable(module: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter values of a module: fully trainable when equal, frozen when the first is 0."""
    total, trainable = count_parameters(module)
    return trainable, total


class HeadOnly(CodingExercise):
    """Keep the model's head trainable and freeze everything else (feature extraction)."""

    id = "ex-head-only"
    hint_text = "Freeze the whole model first, then switch gradient tracking back on for the head alone."
    solution_text = "model.requires_grad_(False)\nhead = model.fc if hasattr(model, 'fc') else model.head  " \
                    "# ResNet: fc, GlyphNet: head\nhead.requires_grad_(True)"

    def _check(self, model: nn.Module) -> Grade:
        name, head = find_head(model)
        if not all(p.requires_grad for p in head.parameters()):
            return self.grade(False, f"model.{name} has frozen tensors, so the one layer that should learn cannot.",
                              diagnosis="Unfreeze the head after freezing everything (the order matters).")
        body = trainable_body(model, head)
        if body:
            return self.grade(False, f"{len(body)} body tensors still train (first: {body[0]}); only model.{name} "
                                     f"should.", diagnosis=attribute_traps(model))
        return self.grade(True, f"Only model.{name} trains; every body tensor is frozen.")


class CountTrainable(CodingExercise):
    """Count the numbers (not tensors) that training will change."""

    id = "ex-count-trainable"
    needs = ("model", "n_trainable")
    hint_text = "Each parameter tensor holds p.numel() numbers; add them up, but only for tensors with " \
                "requires_grad set."
    solution_text = "n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)"

    def _check(self, model: nn.Module, n_trainable: Any) -> Grade:
        params = list(model.parameters())
        total, right = count_parameters(params)
        if isinstance(n_trainable, bool) or not isinstance(n_trainable, (int, torch.Tensor)):
            return self.grade(False, f"n_trainable should be a whole number, got {type(n_trainable).__name__}.")
        value = int(n_trainable)
        if value == right:
            return self.grade(True, f"{right:,} numbers will train, of {total:,}.")
        why = {sum(p.requires_grad for p in params): "You counted tensors; count the numbers inside them "
                                                     "with p.numel().",
               total: "You counted every parameter, frozen ones included; keep only "
                                               "those with requires_grad.",
               len(params): "You counted parameter tensors, frozen ones included."}.get(value)
        return self.grade(False, f"n_trainable is {value:,}; the model has a different number of trainable "
                                 f"numbers.", diagnosis=why)


class FreezeBelow(CodingExercise):
    """Freeze everything before the last two stages; the last two stages and the head keep training."""

    id = "ex-freeze-below"
    hint_text = "List the model's blocks in order (model.named_children()); freeze each block before the last " \
                "three (two stages and the head) with requires_grad_(False)."
    solution_text = "blocks = [m for m in model.children() if any(True for _ in m.parameters())]\n" \
                    "for block in blocks[:-3]:  # ResNet: conv1 ... layer2; GlyphNet: stem ... stage2\n" \
                    "    block.requires_grad_(False)"

    def _check(self, model: nn.Module) -> Grade:
        found = blocks(model)
        if len(found) < 4:
            return self.grade(False, "This model has too few blocks for the exercise; use resnet18 or GlyphNet.")
        early, late = found[:-3], found[-3:]
        frozen_late = [n for n, m in late if _trainable(m)[0] < _trainable(m)[1]]
        if frozen_late:
            return self.grade(False, f"{', '.join(frozen_late)} should keep training but has frozen tensors.",
                              diagnosis="You froze from the output side; early layers are the generic ones to "
                                        "keep, late layers the ones to adapt.")
        live = [n for n, m in early if _trainable(m)[0]]
        if live:
            return self.grade(False, f"{', '.join(live)} still train; everything before {late[0][0]} should be "
                                     f"frozen.", diagnosis=attribute_traps(model))
        return self.grade(True, f"{early[0][0]} ... {early[-1][0]} are frozen; {', '.join(n for n, _ in late)} train.")


class LayerwiseLR(CodingExercise):
    """One optimizer group per block, learning rates rising from the input to the head."""

    id = "ex-layerwise-lr"
    needs = ("model", "optimizer")
    hint_text = "Give each block its own parameter group; multiply the rate by a constant factor (say 2) from one " \
                "block to the next, so the head gets the largest."
    solution_text = "blocks = [m for m in model.children() if any(True for _ in m.parameters())]\n" \
                    "rates = [0.01 * 0.5 ** (len(blocks) - 1 - i) for i in range(len(blocks))]\n" \
                    "optimizer = torch.optim.SGD([{'params': b.parameters(), 'lr': r} for b, r in " \
                    "zip(blocks, rates)], momentum=0.9)"

    def _check(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> Grade:
        lr_of = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
        rates = []
        for name, block in blocks(model):
            missing = [p for p in block.parameters() if p.requires_grad and id(p) not in lr_of]
            if missing:
                return self.grade(False, f"{len(missing)} trainable tensors of {name} are not in the optimizer.")
            held = [lr_of[id(p)] for p in block.parameters() if id(p) in lr_of]
            if held:
                rates.append((name, max(held)))
        if len(rates) < 2:
            return self.grade(False, "Fewer than two blocks are in the optimizer; give every block a group.")
        if len({r for _, r in rates}) == 1:
            return self.grade(False, f"Every block trains at lr {rates[0][1]:g}: that is one uniform rate.")
        for (a, ra), (b, rb) in zip(rates, rates[1:]):
            if ra > rb:
                return self.grade(False, f"{a} (lr {ra:g}) gets a higher rate than {b} after it (lr {rb:g}).",
                                  diagnosis="Rates should grow from the input side to the head: early layers hold "
                                            "generic features worth keeping.")
        if rates[0][1] > rates[-1][1] / 10:
            return self.grade(False, f"The first block's lr {rates[0][1]:g} is more than a tenth of the head's "
                                     f"{rates[-1][1]:g}; spread the rates further.")
        return self.grade(True, f"Rates rise from {rates[0][1]:g} ({rates[0][0]}) to {rates[-1][1]:g} "
                                f"({rates[-1][0]}).")


class UnfreezeTop(CodingExercise):
    """The recipe's second phase: unfreeze the last two stages and fine-tune them below the head's rate."""

    id = "ex-unfreeze-top"
    needs = ("model", "optimizer")
    hint_text = "Unfreeze the last two stages (the head stays trainable), then build the optimizer again with " \
                "one group for those stages at a lower rate and one for the head."
    solution_text = "blocks = [m for m in model.children() if any(True for _ in m.parameters())]\n" \
                    "top, head = blocks[-3:-1], blocks[-1]  # ResNet: layer3, layer4, fc; GlyphNet: stage3, stage4, " \
                    "head\nmodel.requires_grad_(False)\nfor block in blocks[-3:]:\n    block.requires_grad_(True)\n" \
                    "optimizer = torch.optim.SGD([{'params': [p for b in top for p in b.parameters()], 'lr': 0.005},\n" \
                    "                             {'params': head.parameters(), 'lr': 0.05}], momentum=0.9)"

    def _check(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> Grade:
        found = blocks(model)
        (head_name, head), top, early = found[-1], found[-3:-1], found[:-3]
        still = [n for n, m in [*top, (head_name, head)] if _trainable(m)[0] < _trainable(m)[1]]
        if still:
            return self.grade(False, f"{', '.join(still)} should train but has frozen tensors.")
        live = [n for n, m in early if _trainable(m)[0]]
        if live:
            return self.grade(False, f"{', '.join(live)} should stay frozen; unfreeze only the last two stages.")
        lr_of = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
        missing = [n for n, m in [*top, (head_name, head)] if any(id(p) not in lr_of for p in m.parameters())]
        if missing:
            return self.grade(False, f"The optimizer does not hold {', '.join(missing)}, so it would not update it.",
                              diagnosis="An optimizer built before unfreezing keeps only what was trainable then; "
                                        "build it again.")
        top_lr = max(lr_of[id(p)] for _, m in top for p in m.parameters())
        head_lr = min(lr_of[id(p)] for p in head.parameters())
        if top_lr >= head_lr:
            return self.grade(False, f"The unfrozen stages train at lr {top_lr:g}, not below the head's {head_lr:g}.",
                              diagnosis="Pretrained stages need smaller steps than the head, or the first updates "
                                        "overwrite what they learned.")
        return self.grade(True, f"{', '.join(n for n, _ in top)} train at lr {top_lr:g}, the head at {head_lr:g}; "
                                f"the rest stays frozen.")


EXERCISES: dict[str, type[CodingExercise]] = {
    cls.__name__: cls for cls in (FreezeAll, ReplaceHead, TrainableOptimizer, DiscriminativeLR, FrozenBatchNorm,
                                  HeadOnly, CountTrainable, FreezeBelow, LayerwiseLR, UnfreezeTop)
}
