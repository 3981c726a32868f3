"""The baseline registry: explicit entries, one per model family, each with the code it depends on."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from baselines import (
    autoencoder,
    autoencoder_frozen,
    cnn_rgb,
    ddcolor_lite,
    fusion,
    gan_rgb,
    pix2pix,
    reference,
    resnet_lab,
    transfer,
    unet_rgb,
    vgg_decoder,
    zhang313,
)
from baselines.common import ab_mse_objective
from colorbench.contracts import Baseline, Objective, TrainSettings
from colorbench.plugins import PluginSource
from colorbench.registry import Registry


@dataclass(frozen=True)
class BaselineFamily:
    create: Callable[..., Baseline]  # explicit keyword model parameters with the paper's defaults
    objective: Callable[[], Objective] | None = None  # None: nothing to train
    train_defaults: TrainSettings | None = None  # the paper's training settings
    prepares: bool = False  # not learned, but model.prepare(train split) must run (e.g. transfer)
    # Modules whose source decides what this family trains into (model, objective, shared layers);
    # with colorbench.training.checkpoint.PIPELINE_CODE they key its checkpoints.
    code: tuple[str, ...] = ()
    source: PluginSource | None = None  # a plug-in's origin (its code hash and version key its checkpoints)

    @property
    def learned(self) -> bool:
        return self.objective is not None


_COMMON = ("baselines.common",)
_GAN = ("baselines.adversarial", "colorbench.training.adversarial")
_BACKBONES = ("baselines.backbones",)

BASELINES: Registry[BaselineFamily] = Registry("baseline")
BASELINES.register("gray", BaselineFamily(reference.create_gray, code=("baselines.reference",)),
                   "ab = 0: the floor every model must beat")
BASELINES.register("oracle", BaselineFamily(reference.create_oracle, code=("baselines.reference",)),
                   "returns the ground truth: the ceiling")

# Adversarial family (baselines/adversarial.py); pretrain_epochs = generator-only L1 epochs.
BASELINES.register("gan_rgb", BaselineFamily(
    gan_rgb.gan_rgb, gan_rgb.objective,
    TrainSettings(epochs=30, batch_size=4, image_size=256, optimizer="adam", lr=2e-4, betas=(0.5, 0.999)),
    code=("baselines.gan_rgb", *_GAN),
), "seed 000 GAN with RGB: C_N U-Net generator, PatchGAN, BCE + 100 L1")
BASELINES.register("pix2pix", BaselineFamily(
    pix2pix.pix2pix, pix2pix.objective,
    TrainSettings(epochs=100, batch_size=16, image_size=256, optimizer="adam", lr=2e-4, betas=(0.5, 0.999)),
    code=("baselines.pix2pix", *_GAN, *_COMMON),
), "seeds 002/003 GAN a: pix2pix U-Net + PatchGAN on Lab, cGAN + 100 L1")
BASELINES.register("pix2pix_pretrained", BaselineFamily(
    pix2pix.pix2pix_pretrained, pix2pix.objective,
    TrainSettings(epochs=60, pretrain_epochs=20, batch_size=16, image_size=256, optimizer="adam", lr=2e-4,
                  betas=(0.5, 0.999)),
    code=("baselines.pix2pix", *_GAN, *_COMMON),
), "seeds 002/003 GAN b: ResNet-18 U-Net, L1 pretraining then cGAN + 100 L1")
BASELINES.register("ddcolor_lite", BaselineFamily(
    ddcolor_lite.ddcolor_lite, ddcolor_lite.objective,
    TrainSettings(epochs=5, batch_size=16, image_size=256, optimizer="adamw", lr=1e-4, betas=(0.9, 0.99),
                  weight_decay=0.01),
    code=("baselines.ddcolor_lite", "colorbench.training.perceptual", *_GAN, *_COMMON, *_BACKBONES),
), "seed 002 DDColor, reduced: ConvNeXt-style encoder, pixel + colour-query decoders")

# Regression / classification / transfer families (one module each; TRAIN_DEFAULTS = the paper's values).
BASELINES.register("cnn_rgb", BaselineFamily(cnn_rgb.cnn_rgb, cnn_rgb.objective, cnn_rgb.TRAIN_DEFAULTS,
                                             code=("baselines.cnn_rgb", *_COMMON)),
                   "seed 000 CNN with RGB: 8-block Zhang-style CNN, direct RGB, L1")
BASELINES.register("resnet_lab", BaselineFamily(resnet_lab.resnet_lab, ab_mse_objective, resnet_lab.TRAIN_DEFAULTS,
                                                code=("baselines.resnet_lab", *_COMMON)),
                   "seed 000 CNN with LAB: ResNet-18[:6] trunk + upsampling head to ab, MSE")
BASELINES.register("zhang313", BaselineFamily(zhang313.zhang313, zhang313.objective, zhang313.TRAIN_DEFAULTS,
                                              code=("baselines.zhang313", *_COMMON)),
                   "seed 001 scaled-down Zhang: 313-bin rebalanced soft CE, annealed mean T=0.38")
BASELINES.register("zhang313_ce", BaselineFamily(zhang313.zhang313_ce, zhang313.objective_ce, zhang313.TRAIN_DEFAULTS,
                                                 code=("baselines.zhang313", *_COMMON)),
                   "seed 001 scaled-down Zhang with plain (not rebalanced) soft CE")
BASELINES.register("fusion", BaselineFamily(fusion.fusion, ab_mse_objective, fusion.TRAIN_DEFAULTS,
                                            code=("baselines.fusion", *_COMMON, *_BACKBONES)),
                   "seed 001 fusion encoder-decoder (Deep Koalarization), frozen Inception global vector")
BASELINES.register("autoencoder", BaselineFamily(autoencoder.autoencoder, ab_mse_objective,
                                                 autoencoder.TRAIN_DEFAULTS, code=("baselines.autoencoder", *_COMMON)),
                   "seed 004 plain conv autoencoder, tanh ab, MSE")
BASELINES.register("autoencoder_frozen", BaselineFamily(
    autoencoder_frozen.autoencoder_frozen, ab_mse_objective, autoencoder_frozen.TRAIN_DEFAULTS,
    code=("baselines.autoencoder_frozen", *_COMMON, *_BACKBONES)),
    "seed 004 autoencoder behind a frozen ImageNet backbone (VGG16 offline; seed: ResNet-50)")
BASELINES.register("vgg_decoder", BaselineFamily(vgg_decoder.vgg_decoder, ab_mse_objective,
                                                 vgg_decoder.TRAIN_DEFAULTS,
                                                 code=("baselines.vgg_decoder", *_COMMON, *_BACKBONES)),
                   "seed 004 frozen VGG16 features (224) + conv/upsampling decoder, tanh ab, MSE")
BASELINES.register("unet_rgb", BaselineFamily(unet_rgb.unet_rgb, unet_rgb.objective, unet_rgb.TRAIN_DEFAULTS,
                                              code=("baselines.unet_rgb", *_COMMON)),
                   "seed 004 U-Net (gf 32, 7 downs), sigmoid RGB, MSE")
BASELINES.register("transfer", BaselineFamily(transfer.transfer, prepares=True, code=("baselines.transfer",)),
                   "Welsh et al. 2002 global colour transfer from training references (needs prepare(train_ds))")
