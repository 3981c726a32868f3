"""Training settings: one typed record per baseline, paper values as each family's defaults."""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Literal


@dataclass(frozen=True)
class Augment:
    """Runtime augmentation as the seeds describe; all seeded."""

    hflip: bool = True
    rotate_deg: float = 0.0  # uniform in [-rotate_deg, rotate_deg]
    zoom: float = 0.0  # scale uniform in [1 - zoom, 1 + zoom]
    shear_deg: float = 0.0


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 10
    batch_size: int = 16
    image_size: int = 128
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = 2e-4
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    schedule: Literal["constant", "cosine", "step"] = "constant"
    early_stopping_patience: int | None = None  # epochs without improvement > min_delta
    early_stopping_min_delta: float = 0.001
    max_train_images: int | None = None  # None: the whole train split
    max_val_images: int | None = None
    amp: Literal["auto", "off", "bf16", "fp16"] = "auto"  # auto: bf16 on CUDA where supported, off on CPU
    num_workers: int = 2
    augment: Augment = field(default_factory=Augment)
    pretrain_epochs: int = 0  # generator-only epochs before adversarial training (GAN families)

    def __post_init__(self):
        from colorbench.typed import require

        for name in ("epochs", "batch_size", "image_size"):
            require(getattr(self, name) > 0, name, f"must be positive, got {getattr(self, name)}")
        require(self.lr > 0, "lr", f"must be positive, got {self.lr}")
        require(self.pretrain_epochs >= 0, "pretrain_epochs", "must be >= 0")

    def with_overrides(self, overrides: dict) -> "TrainSettings":
        """A copy with some fields replaced; nested `augment` may be given as a dict."""
        values = dict(overrides)
        if isinstance(values.get("augment"), dict):
            values["augment"] = replace(self.augment, **values["augment"])
        return replace(self, **values)


def setting_names() -> list[str]:
    return [f.name for f in fields(TrainSettings)]
