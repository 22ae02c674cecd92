"""Every lesson runs to the end in the full profile (resnet18, Oxford pets, CIFAR-10) on stand-in data in
torchvision's own formats, offline, shortened with FTLAB_PROFILE; a resnet18 student's turns are all correct,
and the kernels of lessons 1 and 3 stay under a memory budget."""
import pytest
import torch

from test_lessons import ANSWERS, NOTEBOOKS, execute

# The turns' right answers written for a resnet: its head is `fc`, its stages `layer1`..`layer4`.
RESNET_ANSWERS = {key: answer.replace("mine.head", "mine.fc").replace("mine.stage4", "mine.layer4")
                  .replace("mine.stage3", "mine.layer3") for key, answer in ANSWERS.items()}
RESNET_ANSWERS["ex-freeze-below"] = ("for name in ['conv1', 'bn1', 'layer1', 'layer2']:\n"
                                     "    getattr(mine, name).requires_grad_(False)")
RESNET_ANSWERS["ex-layerwise-lr"] = (
    "blocks = [[mine.conv1, mine.bn1], [mine.layer1], [mine.layer2], [mine.layer3], [mine.layer4], [mine.fc]]\n"
    "my_optimizer = torch.optim.SGD([{'params': [p for m in b for p in m.parameters()], 'lr': 0.01 / 2 ** (5 - i)}"
    " for i, b in enumerate(blocks)], momentum=0.9)")
# Short enough for CI: 32-pixel images, 2 labels per class, 3 steps of 8 images, 40 images scored, one thread.
SHORT = "steps=3,batch_size=8,labels_per_class=2,eval_size=40,input_size=32,limit=none,threads=1"
# Peak RSS of a lesson's kernel. Lesson 1 used to keep its 36 trainers (7.8 GB measured at full size, ~230 MB of
# weights, gradients, momentum and snapshots each, whatever the image size) and lesson 3 decoded feature maps for
# a whole image set at once; both now stay near what importing torch and one model cost.
RSS_BUDGET_MB = 2500


@pytest.fixture(scope="module")
def full(standin, tmp_path_factory):
    cache = {}

    def get(name):
        if name not in cache:
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("FTLAB_PROFILE", f"full,{SHORT},root={standin['data']}")
                mp.setenv("FTLAB_OFFLINE", "1")
                mp.setenv("TORCH_HOME", str(standin["torch_home"]))
                cache[name] = execute(name, tmp_path_factory, RESNET_ANSWERS, first=standin["cifar_md5"])
        return cache[name]
    return get


# Lessons 7 and 8 (past the syllabus) are left out for CI's time: shortened, they still take 5.5 minutes here on
# resnet18 (3 seeds of 4 strategies and a mixing curve); their resnet18 paths are checked in
# tests/runtime/test_adapters.py and tests/teaching/test_forgetting.py.
SYLLABUS_LESSONS = [name for name in NOTEBOOKS if name < "07"]


@pytest.mark.slow
@pytest.mark.parametrize("name", SYLLABUS_LESSONS)
def test_each_lesson_runs_in_the_full_profile_and_accepts_a_resnet_students_turns(full, name):
    m = full(name)
    turns = {k: v for k, v in m.items() if k.startswith("turn ")}
    assert len(turns) >= 2 and set(turns.values()) == {"Correct"}, turns


@pytest.mark.slow
@pytest.mark.parametrize("name", ["01_why_fine_tune.ipynb", "03_which_layers.ipynb"])
def test_the_memory_hungry_lessons_stay_under_the_budget(full, name):
    assert full(name)["kernel_peak_rss_mb"] < RSS_BUDGET_MB


@pytest.mark.gpu
@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", ["02_freezing.ipynb", "03_which_layers.ipynb"])
def test_on_a_gpu_the_lessons_helpers_follow_the_models_device(tmp_path_factory, name):
    """Lesson 2 compares a snapshot taken on the CPU with a model the trainer moved to the GPU; lesson 3 probes
    features on the GPU: both must run there as they do on the CPU (quick profile)."""
    assert execute(name, tmp_path_factory)["kernel_peak_rss_mb"] > 0
