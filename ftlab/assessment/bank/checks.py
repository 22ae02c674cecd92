"""The checks of the bank's coding exercises: what correct means on a learner's live PyTorch objects, with
diagnoses of the usual mistakes. Everything else about an exercise (prompt, hints, solution, objects, settings)
is its bank item; `run` grades an item's objects with the check the item names."""
from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ftlab.assessment.bank.grading import not_attempted
from ftlab.assessment.bank.items import Exercise, Grade, Outcome
from ftlab.runtime.freezing import eval_mode, group_names, group_parameters
from ftlab.runtime.inspector import optimizer_fit
from ftlab.runtime.measure import count_parameters
from ftlab.runtime.models import find_head, last_linear

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


@dataclass(frozen=True)
class Finding:
    """What a check found: right or not, the feedback, and the misconception behind a wrong state (or None)."""

    correct: bool
    feedback: str
    diagnosis: str | None = None


def passed(feedback: str) -> Finding:
    """The learner's objects are right."""
    return Finding(True, feedback)


def failed(feedback: str, diagnosis: str | None = None) -> Finding:
    """The learner's objects are wrong; `diagnosis` names the usual mistake behind this state."""
    return Finding(False, feedback, diagnosis)


def freeze_all(model: nn.Module) -> Finding:
    """Freeze every parameter of a pretrained model."""
    params = list(model.named_parameters())
    live = [name for name, p in params if p.requires_grad]
    if live:
        return failed(f"{len(live)} of {len(params)} parameter tensors still have requires_grad=True "
                      f"(first: {live[0]}).", diagnosis=attribute_traps(model))
    if not params:
        return failed("This model has no parameters at all; pass the pretrained model.")
    out = probe(model)
    if out is not None and out.requires_grad:
        return failed("A forward pass still builds a graph: something in the model still trains.")
    return passed(f"All {len(params)} parameter tensors are frozen and a forward pass tracks no "
                  f"gradients: sum(p.requires_grad for p in model.parameters()) == 0.")


def replace_head(model: nn.Module, num_classes: int = 5) -> Finding:
    """Freeze the body and give the model a new, trainable head with `num_classes` outputs."""
    name, head = find_head(model)
    linear = last_linear(head)
    outputs = linear.out_features if linear is not None else None
    if outputs != num_classes:
        why = ("The head still has 1000 outputs, one per ImageNet class: it was never replaced."
               if outputs == 1000 else None)
        return failed(f"model.{name} has {outputs} outputs; the task has {num_classes} classes.",
                      diagnosis=why)
    out = probe(model)
    if out is None or out.shape[-1] != num_classes:
        return failed("A forward pass fails or gives the wrong width.",
                      diagnosis="The new Linear's in_features must equal the old head's in_features.")
    if not all(p.requires_grad for p in head.parameters()):
        return failed(f"model.{name} is frozen, so nothing will learn.",
                      diagnosis="You froze after replacing the head, which froze the new head too.")
    body = trainable_body(model, head)
    if body:
        return failed(f"The head is right, but {len(body)} body tensors still train (first: "
                      f"{body[0]}); freeze the body first.", diagnosis=attribute_traps(model))
    return passed(f"model.{name} now maps to {num_classes} classes, trains, and the body is frozen.")


def _groups(text: str) -> list[str]:
    """A setting that names layer groups, e.g. "stage3,stage4"."""
    return [name.strip() for name in text.split(",") if name.strip()]


def task_setup(model: nn.Module, trains: list[str]) -> str | None:
    """What differs from a model whose layer groups `trains` train fully and whose other groups are frozen."""
    for group in group_names(model):
        flags = [p.requires_grad for _, p in group_parameters(model, group)]
        if group in trains and not all(flags):
            return f"{group} has frozen tensors; the task trains {', '.join(trains)}."
        if group not in trains and any(flags):
            return f"{group} trains; the task trains only {', '.join(trains)} and keeps the rest frozen."
    return None


def optimizer_kind(optimizer: torch.optim.Optimizer, kind: str) -> str | None:
    """Why the optimizer is not torch.optim.`kind` (its class, not its name), or None."""
    wanted = getattr(torch.optim, kind, None)
    if type(optimizer) is wanted:
        return None
    return f"The optimizer is {type(optimizer).__name__}; the task asks for torch.optim.{kind}."


def as_number(value: Any) -> float | None:
    """A hyper-parameter as a finite float (torch also takes a one-element tensor), else None."""
    if torch.is_tensor(value) and value.numel() == 1:
        value = float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def optimizer_mismatch(optimizer: torch.optim.Optimizer, kind: str = "", momentum: float = -1.0) -> str | None:
    """Why the optimizer is not of the class `kind` with this `momentum` (each only when the task sets it), or None."""
    wrong = optimizer_kind(optimizer, kind) if kind else None
    if wrong or momentum < 0 or all(same_number(g.get("momentum"), momentum) for g in optimizer.param_groups):
        return wrong
    found = ", ".join(sorted({str(g.get("momentum")) for g in optimizer.param_groups}))
    return f"The optimizer's momentum is {found}; the task asks for {momentum:g}."


def same_number(value: Any, wanted: float) -> bool:
    """A hyper-parameter equal to the task's, to one part in a million."""
    number = as_number(value)
    return number is not None and math.isclose(number, wanted, rel_tol=1e-6)


def trainable_optimizer(model: nn.Module, optimizer: torch.optim.Optimizer, kind: str = "", lr: float = 0.0,
                        trains: str = "") -> Finding:
    """Build an optimizer that holds exactly the parameters that train; with settings, of the class `kind`,
    at learning rate `lr`, on a model whose layer groups `trains` (comma-separated) train and no others."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        return failed(f"`optimizer` should be a torch.optim.Optimizer, got {type(optimizer).__name__}.")
    setup = task_setup(model, _groups(trains)) if trains else None
    if setup:
        return failed(setup)
    fit = optimizer_fit(model, optimizer)
    if not fit.trainable:
        return failed("The model has no trainable parameters; replace or unfreeze the head first.")
    if fit.stale:
        return failed(f"The optimizer holds {fit.stale} tensors that are no longer in the model.",
                      diagnosis="Optimizer built before replacing the head: it updates the old head and "
                                "misses the new one.")
    if fit.frozen:
        return failed(f"The optimizer holds {len(fit.frozen)} frozen tensors.",
                      diagnosis="Optimizer built before freezing (or from model.parameters()): it carries "
                                "tensors that never train, and would apply any stale .grad left on them.")
    if fit.missing:
        return failed(f"{len(fit.missing)} trainable tensors are not in the optimizer (first: "
                      f"{sorted(fit.missing)[0]}), so they would never update.")
    wrong = optimizer_kind(optimizer, kind) if kind else None
    if wrong:
        return failed(wrong)
    rates = sorted({str(group.get("lr")) for group in optimizer.param_groups if group["params"]})
    if lr and not all(same_number(group.get("lr"), lr) for group in optimizer.param_groups if group["params"]):
        return failed(f"The optimizer's learning rate is {', '.join(rates)}; the task asks for {lr:g}.")
    return passed(f"The optimizer holds exactly the {len(fit.trainable)} trainable tensors"
                  + (f", as torch.optim.{kind}" if kind else "") + (f" at lr {lr:g}." if lr else "."))


def discriminative_lr(model: nn.Module, optimizer: torch.optim.Optimizer, kind: str = "", momentum: float = -1.0,
                      body: str = "", body_lr: float = 0.0, head_lr: float = 0.0) -> Finding:
    """Give unfrozen body layers a lower learning rate than the head; with settings, exactly two parameter
    groups of the class `kind`: the layer groups `body` (comma-separated) at `body_lr`, the head at `head_lr`,
    on a model where only those train."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        return failed(f"`optimizer` should be a torch.optim.Optimizer, got {type(optimizer).__name__}.")
    fit = optimizer_fit(model, optimizer)
    if fit.head is None:
        return failed("The model has no head: no fc/head/classifier module and no Linear layer.")
    if body:
        found = _two_groups(model, optimizer, fit, _groups(body), body_lr, head_lr)
        if found is not None:
            return found
    if not fit.head_unheld and not fit.head_lrs:
        return failed(f"model.{fit.head} has no parameters, so nothing in it can learn; give it a new nn.Linear.")
    if fit.head_unheld:
        return failed("Some head parameters are missing from the optimizer.")
    if not fit.body_lrs:
        return failed("No trainable body layer is in the optimizer: unfreeze a late stage and give "
                      "it its own parameter group.")
    if not fit.numeric_lrs:
        return failed("A parameter group has no numeric learning rate; give each group an 'lr'.")
    if not fit.discriminative:
        return failed(f"Body lr {max(fit.body_lrs):g} is not lower than head lr {min(fit.head_lrs):g}.",
                      diagnosis="Pretrained layers need smaller steps than the new head; a large learning "
                                "rate overwrites the features they learned.")
    wrong = optimizer_mismatch(optimizer, kind, momentum)
    if wrong:
        return failed(wrong)
    return passed(f"Body lr {max(fit.body_lrs):g} < head lr {min(fit.head_lrs):g}: the pretrained "
                  f"layers move gently while the new head learns fast.")


def _two_groups(model: nn.Module, optimizer: torch.optim.Optimizer, fit: Any, body: list[str], body_lr: float,
                head_lr: float) -> Finding | None:
    """The task's exact layout: `body` and the head train, nothing else; one group of the body's tensors at
    `body_lr`, one of the head's at `head_lr`. A Finding when it differs, else None."""
    setup = task_setup(model, [*body, fit.head])
    if setup:
        return failed(setup)
    wanted = [({id(p) for g in body for _, p in group_parameters(model, g)}, " and ".join(body), body_lr),
              ({id(p) for _, p in group_parameters(model, fit.head)}, fit.head, head_lr)]
    groups = [group for group in optimizer.param_groups if group["params"]]
    if len(groups) != len(wanted):
        return failed(f"The optimizer has {len(groups)} parameter groups; the task asks for two: "
                      f"{wanted[0][1]} at lr {body_lr:g}, {wanted[1][1]} at lr {head_lr:g}.")
    for ids, what, lr in wanted:
        match = [group for group in groups if {id(p) for p in group["params"]} == ids]
        if not match:
            return failed(f"No parameter group holds exactly the tensors of {what}.")
        if not same_number(match[0].get("lr"), lr):
            return failed(f"The group of {what} has lr {match[0].get('lr')}; the task asks for {lr:g}.")
    return None


def frozen_batchnorm(model: nn.Module) -> Finding:
    """Keep frozen BatchNorm layers in eval mode while the rest of the model trains."""
    norms = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return failed("This model has no BatchNorm layers; use resnet18 or GlyphNet.")
    trainable = [n for n, m in norms if any(p.requires_grad for p in m.parameters())]
    if trainable:
        return failed(f"{len(trainable)} BatchNorm layers still have trainable weights (first: "
                      f"{trainable[0]}); freeze the body first.")
    drifting = [n for n, m in norms if m.training]
    if drifting:
        return failed(f"{len(drifting)} frozen BatchNorm layers are in train mode (first: "
                      f"{drifting[0]}).",
                      diagnosis="BatchNorm still in train mode: its weights are frozen, but it keeps "
                                "overwriting running_mean/running_var with statistics of your small batches.")
    _, head = find_head(model)
    if not head.training:
        return failed("The head is in eval mode too; call model.train() before re-freezing BatchNorm.")
    return passed(f"All {len(norms)} frozen BatchNorm layers use their stored statistics while the "
                  f"head trains.")


# ---- exercises added for the lessons' "your turn" sections (lessons/) -------------------------------------
def blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's top-level children that hold parameters, input side first (ResNet: conv1 ... fc)."""
    return [(n, m) for n, m in model.named_children() if any(True for _ in m.parameters())]


def _trainable(module: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter values of a module: fully trainable when equal, frozen when the first is 0."""
    total, trainable = count_parameters(module)
    return trainable, total


def head_only(model: nn.Module) -> Finding:
    """Keep the model's head trainable and freeze everything else (feature extraction)."""
    name, head = find_head(model)
    if not all(p.requires_grad for p in head.parameters()):
        return failed(f"model.{name} has frozen tensors, so the one layer that should learn cannot.",
                      diagnosis="Unfreeze the head after freezing everything (the order matters).")
    body = trainable_body(model, head)
    if body:
        return failed(f"{len(body)} body tensors still train (first: {body[0]}); only model.{name} "
                      f"should.", diagnosis=attribute_traps(model))
    return passed(f"Only model.{name} trains; every body tensor is frozen.")


def count_trainable(model: nn.Module, n_trainable: Any) -> Finding:
    """Count the numbers (not tensors) that training will change."""
    params = list(model.parameters())
    total, right = count_parameters(params)
    if isinstance(n_trainable, bool) or not isinstance(n_trainable, (int, torch.Tensor)):
        return failed(f"n_trainable should be a whole number, got {type(n_trainable).__name__}.")
    value = int(n_trainable)
    if value == right:
        return passed(f"{right:,} numbers will train, of {total:,}.")
    why = {sum(p.requires_grad for p in params): "You counted tensors; count the numbers inside them "
                                                 "with p.numel().",
           total: "You counted every parameter, frozen ones included; keep only "
                                           "those with requires_grad.",
           len(params): "You counted parameter tensors, frozen ones included."}.get(value)
    return failed(f"n_trainable is {value:,}; the model has a different number of trainable "
                  f"numbers.", diagnosis=why)


def freeze_below(model: nn.Module) -> Finding:
    """Freeze everything before the last two stages; the last two stages and the head keep training."""
    found = blocks(model)
    if len(found) < 4:
        return failed("This model has too few blocks for the exercise; use resnet18 or GlyphNet.")
    early, late = found[:-3], found[-3:]
    frozen_late = [n for n, m in late if _trainable(m)[0] < _trainable(m)[1]]
    if frozen_late:
        return failed(f"{', '.join(frozen_late)} should keep training but has frozen tensors.",
                      diagnosis="You froze from the output side; early layers are the generic ones to "
                                "keep, late layers the ones to adapt.")
    live = [n for n, m in early if _trainable(m)[0]]
    if live:
        return failed(f"{', '.join(live)} still train; everything before {late[0][0]} should be "
                      f"frozen.", diagnosis=attribute_traps(model))
    return passed(f"{early[0][0]} ... {early[-1][0]} are frozen; {', '.join(n for n, _ in late)} train.")


def layerwise_lr(model: nn.Module, optimizer: torch.optim.Optimizer) -> Finding:
    """One optimizer group per block, learning rates rising from the input to the head."""
    lr_of = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    rates = []
    for name, block in blocks(model):
        missing = [p for p in block.parameters() if p.requires_grad and id(p) not in lr_of]
        if missing:
            return failed(f"{len(missing)} trainable tensors of {name} are not in the optimizer.")
        held = [lr_of[id(p)] for p in block.parameters() if id(p) in lr_of]
        if held:
            rates.append((name, max(held)))
    if len(rates) < 2:
        return failed("Fewer than two blocks are in the optimizer; give every block a group.")
    if len({r for _, r in rates}) == 1:
        return failed(f"Every block trains at lr {rates[0][1]:g}: that is one uniform rate.")
    for (a, ra), (b, rb) in zip(rates, rates[1:]):
        if ra > rb:
            return failed(f"{a} (lr {ra:g}) gets a higher rate than {b} after it (lr {rb:g}).",
                          diagnosis="Rates should grow from the input side to the head: early layers hold "
                                    "generic features worth keeping.")
    if rates[0][1] > rates[-1][1] / 10:
        return failed(f"The first block's lr {rates[0][1]:g} is more than a tenth of the head's "
                      f"{rates[-1][1]:g}; spread the rates further.")
    return passed(f"Rates rise from {rates[0][1]:g} ({rates[0][0]}) to {rates[-1][1]:g} "
                  f"({rates[-1][0]}).")


def unfreeze_top(model: nn.Module, optimizer: torch.optim.Optimizer) -> Finding:
    """The recipe's second phase: unfreeze the last two stages and fine-tune them below the head's rate."""
    found = blocks(model)
    (head_name, head), top, early = found[-1], found[-3:-1], found[:-3]
    still = [n for n, m in [*top, (head_name, head)] if _trainable(m)[0] < _trainable(m)[1]]
    if still:
        return failed(f"{', '.join(still)} should train but has frozen tensors.")
    live = [n for n, m in early if _trainable(m)[0]]
    if live:
        return failed(f"{', '.join(live)} should stay frozen; unfreeze only the last two stages.")
    lr_of = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    missing = [n for n, m in [*top, (head_name, head)] if any(id(p) not in lr_of for p in m.parameters())]
    if missing:
        return failed(f"The optimizer does not hold {', '.join(missing)}, so it would not update it.",
                      diagnosis="An optimizer built before unfreezing keeps only what was trainable then; "
                                "build it again.")
    top_lr = max(lr_of[id(p)] for _, m in top for p in m.parameters())
    head_lr = min(lr_of[id(p)] for p in head.parameters())
    if top_lr >= head_lr:
        return failed(f"The unfrozen stages train at lr {top_lr:g}, not below the head's {head_lr:g}.",
                      diagnosis="Pretrained stages need smaller steps than the head, or the first updates "
                                "overwrite what they learned.")
    return passed(f"{', '.join(n for n, _ in top)} train at lr {top_lr:g}, the head at {head_lr:g}; "
                  f"the rest stays frozen.")


# ---- a check with exact settings, so per-student course variants grade against their own values ---------------
def group_lrs(model: nn.Module, optimizer: torch.optim.Optimizer, first: str = "stage3", body_lr: float = 5e-5,
              head_lr: float = 5e-3, kind: str = "", momentum: float = -1.0) -> Finding:
    """Unfreeze the group `first`, every group after it and the head, nothing else; the optimizer (of the class
    `kind`, with this `momentum`, when given) holds exactly those, the unfrozen groups at body_lr and the head at
    head_lr."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        return failed(f"`optimizer` should be a torch.optim.Optimizer, got {type(optimizer).__name__}.")
    order = [n for n, _ in blocks(model)]
    if first not in order[:-1]:
        return failed(f"The model has no group {first!r} before its head; its groups are {', '.join(order)}.")
    wanted = order[order.index(first):]
    counts = {n: _trainable(m) for n, m in blocks(model)}  # (trainable, total) per group
    wrong = [n for n, (trainable, total) in counts.items() if trainable != (total if n in wanted else 0)]
    if wrong:
        return failed(f"{', '.join(wrong)} should {'train' if wrong[0] in wanted else 'stay frozen'}: the task "
                      f"unfreezes {', '.join(wanted)} and nothing below {first}.", diagnosis=attribute_traps(model))
    wrong_kind = optimizer_mismatch(optimizer, kind, momentum)
    if wrong_kind:
        return failed(wrong_kind)
    fit = optimizer_fit(model, optimizer)
    if not fit.exact:
        return failed("The optimizer does not hold exactly the trainable parameters.",
                      diagnosis="An optimizer built before unfreezing keeps only what was trainable then.")
    groups = [g for g in optimizer.param_groups if g["params"]]
    if len(groups) != 2:
        return failed(f"The optimizer has {len(groups)} parameter groups; the task asks for two: the unfrozen "
                      f"stages together, and the head.")
    lr_of = {id(p): group.get("lr") for group in optimizer.param_groups for p in group["params"]}
    for group in wanted:
        lr = head_lr if group == wanted[-1] else body_lr
        held = {lr_of[id(p)] for p in getattr(model, group).parameters()}
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isclose(v, lr, rel_tol=1e-6)
               for v in held):
            return failed(f"{group} trains at lr {', '.join(map(str, sorted(held, key=str)))}; the task sets {lr:g}.")
    return passed(f"{', '.join(wanted[:-1])} train at lr {body_lr:g} and the head at {head_lr:g}; everything "
                  f"below {first} is frozen.")


def check_for(item: Exercise, settings: dict[str, Any] | None = None) -> Callable[..., Finding]:
    """The check the item names, once it is known to take the item's objects and these settings (the item's
    own by default); ValueError naming the item and the valid choices otherwise."""
    if item.check not in CHECKS:
        raise ValueError(f"exercise {item.id!r}: no check named {item.check!r}; the checks in {__name__} are "
                         f"{', '.join(CHECKS)}")
    check = globals()[item.check]
    parameters = list(inspect.signature(check).parameters)
    if parameters[:len(item.needs)] != item.needs:
        raise ValueError(f"exercise {item.id!r}: check {item.check} takes the objects {parameters[:len(item.needs)]}"
                         f", but the item's needs are {item.needs}")
    takes = parameters[len(item.needs):]
    unknown = sorted(set(item.settings if settings is None else settings) - set(takes))
    if unknown:
        raise ValueError(f"exercise {item.id!r}: check {item.check} has no setting {unknown[0]!r}; its settings "
                         f"are {takes or 'none'}")
    return check


def run(item: Exercise, objects: dict[str, Any], **settings: Any) -> Grade:
    """Grade the live objects with the item's check and touch nothing else (no learner progress).

    `settings` override the item's own (e.g. num_classes); missing objects give NotAttempted, a non-Module
    model Incorrect. The grade is worth the item's points, all or nothing."""
    settings = {**item.settings, **settings}
    check = check_for(item, settings)
    lacking = [name for name in item.needs if objects.get(name) is None]
    if lacking:
        call = ", ".join(f"{n}={n}" for n in item.needs)
        return Grade(item.id, 0.0, item.points, False, f"Pass your objects: check({call}). Missing: "
                     f"{', '.join(lacking)}.", outcome=Outcome.NOT_ATTEMPTED)
    if "model" in item.needs and not isinstance(objects["model"], nn.Module):
        found = failed(f"`model` should be a torch.nn.Module, got {type(objects['model']).__name__}.")
    else:
        found = check(**{name: objects[name] for name in item.needs}, **settings)
    return Grade(item.id, item.points * found.correct, item.points, found.correct, found.feedback,
                 diagnosis=found.diagnosis)


def grade_exercise(item: Exercise, answer: Any) -> Grade:
    """The bank's grade() of an exercise (see ftlab.assessment.bank.kinds): the answer is a dict of the live objects."""
    if not isinstance(answer, dict):
        return not_attempted(item.id, item.points, "a dict of your live objects, e.g. {'model': model}")
    return run(item, answer)


def run_code(item: Exercise, code: str, objects: dict[str, Any], **settings: Any) -> Grade:
    """Run a snippet on the given objects (in this process: the learner's own code) and grade the result,
    explaining the known wrong snippets."""
    namespace = {"torch": torch, "nn": nn, **objects}
    try:
        exec(code, namespace)  # the student's own code, in their own process
    except AttributeError as err:
        why = next((text for attr, text in KNOWN_ERRORS.items() if f"'{attr}'" in str(err)), None)
        return Grade(item.id, 0.0, item.points, False, f"Your code raised AttributeError: {err}.", diagnosis=why)
    except Exception as err:  # any error in student code becomes feedback
        return Grade(item.id, 0.0, item.points, False, f"Your code raised {type(err).__name__}: {err}.")
    return run(item, {name: namespace.get(name) for name in item.needs}, **settings)


CHECKS = ("freeze_all", "replace_head", "trainable_optimizer", "discriminative_lr", "frozen_batchnorm", "head_only",
          "count_trainable", "freeze_below", "layerwise_lr", "unfreeze_top", "group_lrs")
"""The checks an exercise item may name (its `check` field)."""


# ---- lessons 7 and 8: forgetting and shift, training few parameters ---------------------------------------
def keep_source_head(model: nn.Module, source_head: nn.Module, num_classes: int = 10) -> Finding:
    """Keep the pretrained head aside (to measure forgetting later) and give the model a new head."""
    from ftlab.runtime.models import get_model, info

    if not isinstance(source_head, nn.Module):
        return failed(f"`source_head` should be the pretrained head module, got {type(source_head).__name__}.")
    name, head = find_head(model)
    kept, new = last_linear(source_head), last_linear(head)
    if new is None or new.out_features != num_classes:
        return failed(f"model.{name} has {new.out_features if new else 'no'} outputs; the task has {num_classes}.")
    if kept is None or kept.out_features == num_classes:
        return failed(f"source_head has {kept.out_features if kept else 'no'} outputs, the new task's number.",
                      diagnosis="You took the head after replacing it: keep the pretrained one first.")
    if any(p is q for p in source_head.parameters() for q in model.parameters()):
        return failed("source_head shares its tensors with the model, so training would change it too.")
    pretrained = last_linear(find_head(get_model(info(model).name, weights=info(model).weights))[1])
    if kept.weight.shape != pretrained.weight.shape or not torch.equal(kept.weight.detach().cpu(), pretrained.weight):
        return failed("source_head's weights are not the pretrained head's.",
                      diagnosis="Keep the head that came with the pretrained weights, before any training.")
    return passed(f"source_head keeps the pretrained {kept.out_features}-class head; model.{name} now predicts "
                  f"{num_classes} classes.")


def wise_ft(mixed: nn.Module, probe: nn.Module, tuned: nn.Module, alpha: float = 0.5) -> Finding:
    """WiSE-FT: every weight and statistic of `mixed` is (1 - alpha) * probe's + alpha * tuned's."""
    modules = {"mixed": mixed, "probe": probe, "tuned": tuned}
    wrong = [k for k, v in modules.items() if not isinstance(v, nn.Module)]
    if wrong:
        return failed(f"`{wrong[0]}` should be a torch.nn.Module, got {type(modules[wrong[0]]).__name__}.")
    if mixed is probe or mixed is tuned:
        return failed(f"`mixed` is the same object as `{'probe' if mixed is probe else 'tuned'}`.",
                      diagnosis="Mixing in place overwrites one end of the line; mix into a copy.")
    m, a, b = mixed.state_dict(), probe.state_dict(), tuned.state_dict()
    if set(m) != set(a) or set(a) != set(b):
        return failed("The three models do not have the same tensors; mix two models of one architecture.")
    floats = [k for k in m if m[k].is_floating_point()]

    def off(w0: float, w1: float) -> list[str]:
        return [k for k in floats if not torch.allclose(m[k].float(), w0 * a[k].float() + w1 * b[k].float(),
                                                         rtol=1e-4, atol=1e-5)]
    bad = off(1 - alpha, alpha)
    if not bad:
        return passed(f"All {len(floats)} floating tensors are {1 - alpha:g} x probe + {alpha:g} x tuned.")
    if alpha != 0.5 and not off(alpha, 1 - alpha):
        return failed("mixed is alpha x probe + (1 - alpha) x tuned: the weights are swapped.",
                      diagnosis="alpha is the weight of the fine-tuned model: alpha = 1 gives the fine-tuned one.")
    stats = [k for k in bad if k.endswith(("running_mean", "running_var"))]
    if len(stats) == len(bad):
        return failed(f"The parameters are mixed, but {len(stats)} BatchNorm statistics are not (first: {stats[0]}).",
                      diagnosis="Mix the whole state_dict: the running statistics belong to the weights they "
                                "were measured with.")
    return failed(f"{len(bad)} of {len(floats)} tensors are not the mix (first: {bad[0]}).")


def lora_budget(model: nn.Module, max_percent: float = 2.0) -> Finding:
    """A LoRA model: under max_percent % of the parameters train, and only the adapters and the head."""
    from ftlab.runtime.adapters import is_adapter, lora_layers

    if not lora_layers(model):
        return failed("The model has no LoRA layers.",
                      diagnosis="Freezing layers is not LoRA: LoRA adds small trainable low-rank updates beside the "
                                "frozen weights (ftlab.lora or peft).")
    name, head = find_head(model)
    if not all(p.requires_grad for p in head.parameters()):
        return failed(f"model.{name} is frozen; the new head has to learn the classes.")
    head_ids = {id(p) for p in head.parameters()}
    other = [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in head_ids and not is_adapter(n)]
    if other:
        return failed(f"{len(other)} pretrained tensors still train (first: {other[0]}).",
                      diagnosis="With LoRA the pretrained weights stay frozen; only the adapters and the head train.")
    total, trainable = count_parameters(model)
    share = 100 * trainable / total
    if share >= max_percent:
        return failed(f"{trainable:,} of {total:,} parameters train ({share:.2f}%), not under {max_percent:g}%.",
                      diagnosis="Each adapter adds rank x (inputs x kernel area + outputs) numbers: lower the rank "
                                "or adapt fewer layers.")
    return passed(f"{len(lora_layers(model))} LoRA layers; {trainable:,} of {total:,} parameters train "
                  f"({share:.2f}%): the adapters and the head only.")


def bitfit_only(model: nn.Module) -> Finding:
    """BitFit: every bias and the head train; every other weight is frozen."""
    name, head = find_head(model)
    head_ids = {id(p) for p in head.parameters()}
    if not all(p.requires_grad for p in head.parameters()):
        return failed(f"model.{name} is frozen; the new head has to learn the classes.")
    biases = [(n, p) for n, p in model.named_parameters() if n.rsplit(".", 1)[-1] == "bias" and id(p) not in head_ids]
    frozen = [n for n, p in biases if not p.requires_grad]
    if frozen:
        return failed(f"{len(frozen)} of {len(biases)} biases are frozen (first: {frozen[0]}).",
                      diagnosis="Unfreeze the biases after freezing everything: the order matters.")
    other = [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in head_ids
             and n.rsplit(".", 1)[-1] != "bias"]
    if other:
        modules = dict(model.named_modules())
        norms = [n for n in other if isinstance(modules.get(n.rpartition(".")[0]), nn.modules.batchnorm._BatchNorm)]
        why = ("A BatchNorm weight is a per-channel scale, not a bias: BitFit keeps it frozen."
               if norms else attribute_traps(model))
        return failed(f"{len(other)} tensors that are not biases still train (first: {other[0]}).", diagnosis=why)
    if not biases:
        return failed("This model has no biases outside the head; use GlyphNet or resnet18 (BatchNorm's shifts).")
    total, trainable = count_parameters(model)
    return passed(f"{len(biases)} bias tensors and the head train: {trainable:,} of {total:,} parameters.")


CHECKS += ("keep_source_head", "wise_ft", "lora_budget", "bitfit_only")
