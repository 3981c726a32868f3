"""The one cache of loaded feature networks: one per name, replaced (not joined) by a network from
substituted weights, shared by every user, and dropped by the scoring engine before compute."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from colorbench import weights
from colorbench.metrics import networks
from colorbench.metrics.base import MetricContext
from colorbench.scoring.engine import score_pairs
from colorbench.scoring.pairs import Pair

pytestmark = pytest.mark.usefixtures("weights_env")


def test_cached_builds_once_per_name_and_weights(monkeypatch):
    hashes = {"a": "1" * 64}
    monkeypatch.setattr(weights, "sha256", lambda name: hashes[name])
    built = []

    def build():
        built.append(torch.nn.Linear(1, 1))
        return built[-1]

    cpu = torch.device("cpu")
    networks.release()
    first = networks.cached("net", "a", cpu, build)
    assert networks.cached("net", "a", cpu, build) is first and len(built) == 1
    hashes["a"] = "2" * 64  # another file under the same name (--weights-file)
    second = networks.cached("net", "a", cpu, build)
    assert second is not first and len(built) == 2
    assert [k for k in networks._CACHE if k[0] == "net"] == [("net", "2" * 64, "cpu")]
    networks.release()
    assert networks._CACHE == {}


def test_scoring_drops_the_networks_before_compute():
    """FID needs Inception for every batch and none for its value: after score_pairs nothing is
    cached, and scoring again rebuilds the network and gives the same numbers."""
    rng = np.random.default_rng(0)
    pairs = [Pair(f"{i}", torch.from_numpy(rng.integers(0, 256, (3, 32, 32), dtype=np.uint8)),
                  torch.from_numpy(rng.integers(0, 256, (3, 32, 32), dtype=np.uint8))) for i in range(4)]
    context = MetricContext(device="cpu")
    first = score_pairs(pairs, ["fid"], context, batch_size=2)
    assert networks._CACHE == {}
    again = score_pairs(pairs, ["fid"], context, batch_size=2)
    assert first.values["fid"].value == again.values["fid"].value and np.isfinite(first.values["fid"].value)


def test_metrics_of_different_networks_are_scored_in_separate_passes():
    from colorbench.metrics.registry import METRICS
    from colorbench.protocols import registry as protocols
    from colorbench.scoring.engine import network_passes

    ct2 = protocols.get("ct2")
    assert network_passes(["lpips", "psnr", "fid", "ssim", "lpips_convert", "fid_convert"], ct2.metrics) == [
        ["psnr", "ssim", "lpips", "lpips_convert"], ["fid", "fid_convert"]]
    # per-image passes run first (FID's states grow with N); metrics without a network join them
    assert network_passes(["fid", "psnr", "lpips"], ct2.metrics) == [["psnr", "lpips"], ["fid"]]
    assert network_passes(["kid", "lpips_vgg", "fid", "psnr", "lpips"], METRICS) == [
        ["psnr", "lpips_vgg"], ["lpips"], ["kid", "fid"]]
    assert network_passes(["fid", "psnr_pooled"], METRICS) == [["psnr_pooled", "fid"]]
    assert network_passes(["fid", "psnr"], ct2.metrics) == [["psnr", "fid"]]
    assert network_passes(["psnr", "mse_ab"], METRICS) == [["psnr", "mse_ab"]]
    assert network_passes([], METRICS) == [[]]


def test_passes_give_each_metric_its_own_runs_values_in_the_asked_order_and_count_each_pair_once():
    rng = np.random.default_rng(1)
    pairs = [Pair(f"{i}", torch.from_numpy(rng.integers(0, 256, (3, 40, 40), dtype=np.uint8)),
                  torch.from_numpy(rng.integers(0, 256, (3, 40, 40), dtype=np.uint8))) for i in range(5)]
    context, counted = MetricContext(device="cpu"), []
    together = score_pairs(pairs, ["fid", "psnr", "lpips"], context, batch_size=2, progress=counted.append)
    assert list(together.values) == ["fid", "psnr", "lpips"] and sum(counted) == len(pairs)
    assert together.ids == [p.id for p in pairs]
    for name in ("fid", "psnr", "lpips"):
        alone = score_pairs(pairs, [name], context, batch_size=2).values[name]
        assert together.values[name].value == alone.value
        if alone.per_image is not None:
            assert torch.equal(together.values[name].per_image, alone.per_image)
