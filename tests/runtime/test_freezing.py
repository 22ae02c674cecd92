"""Freezing: by group, by pattern, below a group; frozen means bit-identical; the inspector's traps."""
import pytest
import torch
import torch.nn.functional as F

import ftlab
from ftlab.runtime.freezing import group_of, set_bn_mode


def test_freezing_everything_leaves_no_trainable_tensor(glyphnet):
    ftlab.freeze(glyphnet)
    assert sum(p.requires_grad for p in glyphnet.parameters()) == 0
    assert ftlab.count_parameters(glyphnet)[1] == 0


def test_freeze_all_but_head_leaves_exactly_the_head_tensors(glyphnet):
    ftlab.freeze(glyphnet)
    ftlab.unfreeze(glyphnet, "head")
    assert sum(p.requires_grad for p in glyphnet.parameters()) == len(list(glyphnet.head.parameters())) == 2
    assert ftlab.trainable_groups(glyphnet) == ["head"]


def test_unknown_group_names_every_valid_group(glyphnet):
    with pytest.raises(ValueError) as err:
        ftlab.freeze(glyphnet, "layer4")
    assert "'layer4'" in str(err.value)
    assert "stem, stage1, stage2, stage3, stage4, head" in str(err.value)
    assert all(p.requires_grad for p in glyphnet.parameters()), "a bad call changes nothing"


def test_freeze_below_a_group(glyphnet):
    ftlab.freeze_below(glyphnet, "stage3")
    assert ftlab.trainable_groups(glyphnet) == ["stage3", "stage4", "head"]
    ftlab.freeze_below(glyphnet, "stem")
    assert ftlab.trainable_groups(glyphnet) == ftlab.group_names(glyphnet)


def test_freeze_by_parameter_name_pattern(glyphnet):
    names = ftlab.freeze_matching(glyphnet, "stage4.*.1.*")  # the BatchNorms of stage 4
    assert names and all(".1." in n for n in names)
    assert all(not p.requires_grad for n, p in glyphnet.named_parameters() if n in names)
    with pytest.raises(ValueError, match="no parameter name matches 'nothing.*'; names look like: stem.0.weight"):
        ftlab.freeze_matching(glyphnet, "nothing.*")


def test_frozen_batchnorm_runs_in_eval_mode_unless_train_bn(glyphnet):
    ftlab.freeze(glyphnet, "stem")
    glyphnet.train()
    set_bn_mode(glyphnet)
    assert not glyphnet.stem[1].training and glyphnet.stage1[0][1].training
    ftlab.freeze(glyphnet, "stem", train_bn=True)
    assert glyphnet.stem[1].weight.requires_grad and not glyphnet.stem[0].weight.requires_grad
    assert glyphnet.stem[1].training


def _family(name):
    torch.manual_seed(0)
    model = ftlab.get_model(name, num_classes=4, weights=None if name != "glyphnet" else "DEFAULT")
    size = 32 if name == "glyphnet" else 64
    x = torch.rand(8, model.ftlab.preprocess.channels, size, size)
    return model, x


@pytest.mark.parametrize("name", ["glyphnet", "resnet18", "mobilenet_v3_small", "efficientnet_b0"])
@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_frozen_parameters_and_bn_statistics_are_bit_identical_after_steps(name, optimizer):
    model, x = _family(name)
    ftlab.freeze_below(model, "stage3")
    before = ftlab.snapshot(model)
    data = ftlab.ImageSet((x * 255).to(torch.uint8), torch.arange(8) % 4, list("abcd"))
    trainer = ftlab.Trainer(model, data, optimizer=optimizer, lr=0.1, weight_decay=0.1, momentum=0.9,
                            batch_size=4, progress=False, log_every=1)
    trainer.fit(epochs=3)
    state = model.state_dict()
    for key, value in before.items():
        group = group_of(model, key)
        if group in ("stem", "stage1", "stage2"):
            assert torch.equal(value, state[key]), f"{key} changed while frozen"
    changed = [k for k in before if group_of(model, k) == "stage4" and not torch.equal(before[k], state[k])]
    assert changed, "trainable groups did move"
    table = ftlab.inspect(model, trainer.optimizer, before)
    assert not any(table.column("flags")), [f for f in table.column("flags") if f]


def test_inspector_flags_the_classic_traps(glyphnet):
    # trap 1: an optimizer built over every parameter, with weight decay, before freezing
    opt = torch.optim.SGD(glyphnet.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)
    x = torch.rand(8, 1, 32, 32)
    F.cross_entropy(glyphnet(x), torch.arange(8) % 10).backward()
    opt.step()
    before = ftlab.snapshot(glyphnet)
    # trap 2: "freezing" a module by assigning an attribute
    glyphnet.stage1.requires_grad = False
    for p in glyphnet.stem.parameters():
        p.requires_grad_(False)
    glyphnet.train()  # trap 3: the frozen stem's BatchNorm still updates its statistics
    for _ in range(2):
        opt.zero_grad(set_to_none=False)  # zero-filled grads: weight decay still moves frozen weights
        F.cross_entropy(glyphnet(x), torch.arange(8) % 10).backward()
        opt.step()
    flags = dict(zip(ftlab.inspect(glyphnet, opt, before).column("layer"), ftlab.inspect(glyphnet, opt, before).column("flags")))
    assert "BatchNorm statistics drifted while frozen" in flags["stem.1"]
    assert "frozen weights changed" in flags["stem.1"]
    assert "frozen but held with a gradient and weight decay" in flags["stem.0"]
    assert all("stage1.requires_grad is a plain attribute" in f for layer, f in flags.items() if layer.startswith("stage1"))
    assert all(p.grad is not None for p in glyphnet.stage1.parameters()), "and stage1 still trained"


def test_inspector_flags_plain_attribute_and_stale_optimizer(glyphnet):
    glyphnet.head.requires_grad = False
    ftlab.freeze(glyphnet)
    opt = torch.optim.SGD([p for p in glyphnet.parameters() if p.requires_grad] or [torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    ftlab.unfreeze(glyphnet, "head")  # unfrozen after building the optimizer
    flags = dict(zip(ftlab.inspect(glyphnet, opt).column("layer"), ftlab.inspect(glyphnet, opt).column("flags")))
    assert "head.requires_grad is a plain attribute and freezes nothing" in flags["head"]
    assert "trainable but not in the optimizer" in flags["head"]


def test_inspector_compares_only_layers_that_existed_in_the_snapshot(glyphnet):
    before = ftlab.snapshot(glyphnet)
    glyphnet.head = torch.nn.Sequential(torch.nn.Linear(192, 5))  # a new head, under new parameter names
    ftlab.freeze(glyphnet)
    rows = {r[0]: r for r in ftlab.inspect(glyphnet, None, before).rows}
    assert rows["head.0"][-2:] == ["no", ""] and rows["stem.0"][-2:] == ["no", ""]


def test_summary_counts_per_group(glyphnet):
    ftlab.freeze(glyphnet)
    ftlab.unfreeze(glyphnet, "head")
    table = ftlab.summary(glyphnet)
    rows = {r[0]: r for r in table.rows}
    assert rows["head"][1:] == [192 * 10 + 10, 192 * 10 + 10, "trainable"]
    assert rows["stem"][2] == 0 and rows["stem"][3] == "frozen"
    assert rows["total"][2] == 1930
    assert "head" in str(table) and "<table>" in table._repr_html_()


def _frozen_bn_training(model) -> list[str]:
    return [n for n, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d) and m.training
            and not any(p.requires_grad for p in m.parameters())]


def test_one_helper_puts_modes_back_as_the_freezing_policy_says(glyphnet):
    from ftlab.runtime.freezing import eval_mode, set_mode
    ftlab.freeze(glyphnet, "stem", "stage1")
    glyphnet.train()  # the trap: every BatchNorm back in train mode, frozen ones too
    assert _frozen_bn_training(glyphnet)
    set_mode(glyphnet, True)
    assert glyphnet.training and _frozen_bn_training(glyphnet) == [] and glyphnet.stage2[0][1].training
    with eval_mode(glyphnet):
        assert not any(m.training for m in glyphnet.modules())
    assert glyphnet.training and _frozen_bn_training(glyphnet) == []
    glyphnet.train()
    with eval_mode(glyphnet, exact=True):  # a check that inspects the student's modes must not change them
        pass
    assert _frozen_bn_training(glyphnet)


def test_feature_maps_leave_frozen_batchnorm_in_eval(glyphnet, digits):
    from ftlab.teaching import lessons
    ftlab.freeze(glyphnet)
    ftlab.unfreeze(glyphnet, "head")
    glyphnet.train()
    set_bn_mode(glyphnet)
    maps = lessons.feature_maps(glyphnet, digits.test.images[:1], ["stem", "stage2"])
    assert set(maps) == {"stem", "stage2"}
    assert glyphnet.training and _frozen_bn_training(glyphnet) == []
    buffers = {n: b.clone() for n, b in glyphnet.named_buffers()}
    glyphnet(glyphnet.ftlab.preprocess(digits.test.images[:8]))
    assert all(torch.equal(b, buffers[n]) for n, b in glyphnet.named_buffers())
