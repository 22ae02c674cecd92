"""The baselines, written plainly in PyTorch with no ftlab code in their loops."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ftlab.runtime.data import ImageSet
from ftlab.runtime.device import autocast_dtype, configure
from ftlab.runtime.models import info


def _normaliser(model: nn.Module, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    pre = info(model).preprocess
    return (torch.tensor(pre.mean, device=device).view(1, -1, 1, 1),
            torch.tensor(pre.std, device=device).view(1, -1, 1, 1))


class HandTuned:
    """A hand-tuned loop: uint8 data on the device, per-batch normalisation, the same precision and
    memory format as ftlab, one SGD over the trainable parameters, losses read back once per epoch.
    With `head_only`, the frozen backbone runs under no_grad in eval mode every epoch (no cache)."""

    def __init__(self, model: nn.Module, data: ImageSet, batch: int, device: torch.device, lr: float = 0.01,
                 amp: bool = True, channels_last: bool = True, head_only: bool = False, seed: int = 0):
        self.device, self.batch, self.channels_last = device, batch, channels_last
        configure(device)  # cudnn.benchmark on CUDA, as ftlab sets it
        self.model = model.to(device)
        if channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.head = getattr(model, info(model).head)
        self.body = None
        if head_only:
            setattr(model, info(model).head, nn.Identity())
            self.body = model.eval()
        else:
            model.train()
        self.x, self.y = data.images.to(device), data.labels.to(device)
        self.mean, self.std = _normaliser(model, device)
        self.dtype = autocast_dtype(device) if amp else None
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.dtype == torch.float16)
        params = self.head.parameters() if head_only else (p for p in model.parameters() if p.requires_grad)
        self.opt = torch.optim.SGD(list(params), lr=lr, momentum=0.9)
        self.generator = torch.Generator().manual_seed(seed)

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        if self.body is None:
            return self.model(x)
        with torch.no_grad():
            features = self.body(x).float()
        return self.head(features)

    def epoch(self) -> list[float]:
        """One pass over the data in a fresh random order; returns the per-step losses."""
        order = torch.randperm(len(self.y), generator=self.generator).to(self.device)
        memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        losses = []
        for i in range(0, len(order), self.batch):
            idx = order[i:i + self.batch]
            x = ((self.x[idx].float() / 255 - self.mean) / self.std).contiguous(memory_format=memory_format)
            with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype is not None):
                loss = F.cross_entropy(self._logits(x).float(), self.y[idx])
            self.opt.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.opt)
            self.scaler.update()
            losses.append(loss.detach())
        return torch.stack(losses).tolist()


class Tutorial:
    """The loop of PyTorch's transfer-learning tutorial (fp32, default memory format, a DataLoader on the
    host, `.to(device)`, `loss.item()` every step, StepLR). Kinder than the tutorial: images are decoded
    and normalised once in host memory and the loader has no workers, so no JPEG decoding is timed."""

    def __init__(self, model: nn.Module, data: ImageSet, batch: int, device: torch.device, lr: float = 0.01,
                 seed: int = 0):
        mean, std = _normaliser(model, torch.device("cpu"))
        dataset = TensorDataset((data.images.float() / 255 - mean) / std, data.labels)
        self.loader = DataLoader(dataset, batch_size=batch, shuffle=True,
                                 generator=torch.Generator().manual_seed(seed))
        self.device, self.model = device, model.to(device)
        self.criterion = nn.CrossEntropyLoss()
        self.optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        self.scheduler = torch.optim.lr_scheduler.StepLR(self.optimizer, step_size=7, gamma=0.1)

    def epoch(self) -> float:
        """One epoch of the tutorial's train phase; returns its mean loss."""
        self.model.train()
        running_loss, running_corrects = 0.0, 0
        for inputs, labels in self.loader:
            inputs, labels = inputs.to(self.device), labels.to(self.device)
            self.optimizer.zero_grad()
            with torch.set_grad_enabled(True):
                outputs = self.model(inputs)
                _, preds = torch.max(outputs, 1)
                loss = self.criterion(outputs, labels)
                loss.backward()
                self.optimizer.step()
            running_loss += loss.item() * inputs.size(0)
            running_corrects += torch.sum(preds == labels.data)
        self.scheduler.step()
        return running_loss / len(self.loader.dataset)
