"""`ftlab info`: versions, the device ftlab would train on, and where it keeps weights and progress."""
from __future__ import annotations

import argparse
import sys


def run(args: argparse.Namespace) -> None:
    """Print one line per fact a bug report or a first install needs."""
    import torch
    import torchvision

    import ftlab
    from ftlab.runtime.device import describe, pick_device
    from ftlab.offline.glyphnet import WEIGHTS_DIR, meta as glyphnet_meta
    from ftlab.assessment.selfquiz.store import data_dir

    meta = glyphnet_meta()
    print(f"ftlab        {ftlab.__file__.rsplit('/', 1)[0]}")
    print(f"python       {sys.version.split()[0]}")
    print(f"torch        {torch.__version__} (CUDA build: {torch.version.cuda or 'no'})")
    print(f"torchvision  {torchvision.__version__}")
    print(f"device       {describe(pick_device())}  (cuda available: {torch.cuda.is_available()})")
    print(f"hub cache    {torch.hub.get_dir()}/checkpoints  (torchvision ImageNet weights go here)")
    print(f"data dir     {data_dir()}  (self-quiz progress; set FTLAB_DATA_DIR to move it)")
    print(f"offline model glyphnet: {WEIGHTS_DIR / meta['file']} "
          f"({meta['num_params']:,} parameters, source accuracy {meta['source_val_accuracy']:.3f})")
