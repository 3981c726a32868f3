"""What produced a number: versions, commit, device, seeds, config, data and weights hashes."""
from __future__ import annotations

import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import torch

PACKAGES = ("colorbench", "torch", "torchvision", "torchmetrics", "lpips", "pytorch-fid", "scikit-image", "numpy", "pillow", "pandas", "scipy")


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_commit() -> dict[str, str | bool | None]:
    """The commit of the colorbench source tree, and whether it has uncommitted changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if commit.returncode != 0:
            return {"commit": None, "dirty": None}
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True, timeout=10)
        return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.TimeoutExpired):
        return {"commit": None, "dirty": None}


def device_info(device: torch.device) -> dict[str, str | int]:
    info: dict[str, str | int] = {"device": str(device), "torch_threads": torch.get_num_threads()}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cuda"] = torch.version.cuda or "?"
    info["cpu"] = platform.processor() or platform.machine()
    info["cpu_model"] = cpu_model()
    # the instruction set torch's kernels were chosen for: float results (and so training) differ
    # in the last bits between e.g. AVX2 and AVX512 machines
    info["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    return info


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def environment(device: torch.device) -> dict:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "git": git_commit(),
        **device_info(device),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
