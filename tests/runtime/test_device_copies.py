"""Device copies of the data: one per tensor and device, shared while held, freed after, made again after a write.
The meta device (shapes, no values) stands in for a GPU here; tests/runtime/test_gpu.py checks trainers on CUDA."""
import gc
import weakref

import torch

from ftlab.runtime.device_copies import on_device

META = torch.device("meta")


def test_one_copy_per_device_shared_while_held_and_freed_after():
    source = torch.arange(6.0)
    first = on_device(source, META)
    assert first.device == META and on_device(source, META) is first
    gone = weakref.ref(first)
    del first
    gc.collect()
    assert gone() is None, "no copy is kept once nobody holds it"
    assert on_device(source, META).shape == source.shape
    assert on_device(source, torch.device("cpu")) is source, "already there: no copy"


def test_a_source_written_since_is_copied_again():
    source = torch.arange(6.0)
    before = on_device(source, META)
    source.add_(1)
    assert on_device(source, META) is not before
    other = torch.arange(6.0)
    assert on_device(other, META) is not on_device(source, META), "each source has its own copy"
