"""The device and precision choices: bf16 only where the GPU computes it natively, fp16 with loss scaling below."""
import pytest
import torch

from ftlab.runtime.device import amp_dtype, autocast_dtype, configure, seed_device


@pytest.mark.parametrize("capability, dtype", [
    ((7, 0), torch.float16),  # V100: bf16 emulated, so fp16 + GradScaler
    ((7, 5), torch.float16),  # T4
    ((6, 1), torch.float16),  # P100-era cards
    ((8, 0), torch.bfloat16),  # A100
    ((8, 6), torch.bfloat16),  # RTX 30xx, A10
    ((9, 0), torch.bfloat16),  # H100 / H200
    ((12, 0), torch.bfloat16),
])
def test_bf16_only_from_compute_capability_8(capability, dtype):
    assert amp_dtype(capability) == dtype


def test_full_precision_and_no_cudnn_change_off_cuda():
    before = torch.backends.cudnn.benchmark
    configure(torch.device("cpu"))
    assert autocast_dtype(torch.device("cpu")) is None and torch.backends.cudnn.benchmark == before


def test_seeding_the_device_makes_random_draws_repeat():
    seed_device(torch.device("cpu"), 3)
    first = torch.rand(4)
    seed_device(torch.device("cpu"), 3)
    assert torch.equal(first, torch.rand(4))
