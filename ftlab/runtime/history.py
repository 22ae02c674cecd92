"""What a training run recorded: one row per optimizer step, one per epoch, and notable events."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class History:
    steps: list[dict] = field(default_factory=list)  # step, epoch, loss, acc, lr, trainable, images_per_s, mode
    epochs: list[dict] = field(default_factory=list)  # epoch, step, train_loss, train_acc, val_loss, val_acc, seconds
    events: list[str] = field(default_factory=list)  # divergence, interruption, freezing and LR changes

    def series(self, key: str, level: str = "steps") -> list:
        return [row[key] for row in getattr(self, level) if key in row]

    def last(self, key: str, level: str = "epochs"):
        values = self.series(key, level)
        return values[-1] if values else None

    def truncate(self, step: int) -> None:
        """Forget everything recorded after `step` (used when weights are rolled back)."""
        self.steps = [r for r in self.steps if r["step"] <= step]
        self.epochs = [r for r in self.epochs if r["step"] <= step]
