"""Which trials a study holds (seeded), and each rater's session: order and sides (seeded by token).

Sampling: per dataset, N scenes are drawn without replacement from the usable test images and
every selected baseline is shown on the same N scenes (plus the ground truth itself when the
design has a hidden reference: MOS), so baselines are compared on identical content. Practice
and vigilance trials use scenes outside that sample. Where the design allows it (MOS), once the
other scenes are used up, extra trials reuse main scenes and `study create` says how many did;
otherwise (2AFC: a real photo seen twice would give itself away) `study create` refuses, naming
the numbers.

Sessions: practice first, then the design's main trials for the session (MOS: every one; 2AFC:
one per scene, the baselines rotating over sessions) mixed with the vigilance trials, in an order
drawn from the rater's token; designs with sides also get the real photo's side per trial.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from colorbench.errors import UsageError
from colorbench.study.designs.base import Design
from colorbench.study.spec import GROUND_TRUTH, Study


@dataclass(frozen=True)
class Plan:
    kind: str  # main | practice | vigilance
    dataset: str
    image_id: str
    system: str  # baseline, or GROUND_TRUTH for a hidden reference / vigilance trial


def _draw_extra(k: int, pool: list[tuple[str, str]], fallback: list[tuple[str, str]], rng) -> list[tuple[str, str]]:
    """k scenes: from `pool` first (removed from it), then from `fallback` (removed too)."""
    picked = []
    for source in (pool, fallback):
        while source and len(picked) < k:
            picked.append(source.pop(int(rng.integers(len(source)))))
    return picked


def sample_plans(design: Design, candidates: dict[str, list[str]], baselines: list[str], per_baseline: int,
                 practice: int, vigilance: int, seed: int) -> list[Plan]:
    rng = np.random.default_rng(seed)
    systems = baselines + ([GROUND_TRUTH] if design.hidden_reference else [])
    plans, main_scenes, leftover = [], [], []
    for dataset, ids in candidates.items():
        if len(ids) < per_baseline:
            raise UsageError(f"--per-baseline {per_baseline}, but dataset {dataset!r} has {len(ids)} usable test images")
        chosen = set(rng.choice(len(ids), size=per_baseline, replace=False).tolist())
        for i, image_id in enumerate(ids):
            (main_scenes if i in chosen else leftover).append((dataset, image_id))
    if practice + vigilance > len(main_scenes) + len(leftover):
        raise UsageError(f"--practice {practice} and --vigilance {vigilance} need {practice + vigilance} distinct scenes; "
                         f"the selected datasets have {len(main_scenes) + len(leftover)} usable test images")
    if not design.reuse_main_scenes and practice + vigilance > len(leftover):
        left = ", ".join(f"{d}: {len(ids)} - {per_baseline}" for d, ids in candidates.items())
        raise UsageError(f"--practice {practice} and --vigilance {vigilance} need {practice + vigilance} test images outside the "
                         f"{per_baseline} main scenes of each dataset ({design.scenes_note}); the selected datasets "
                         f"have {len(leftover)} ({left}): lower --per-baseline, --practice or --vigilance")
    for dataset, image_id in main_scenes:
        plans += [Plan("main", dataset, image_id, s) for s in systems]
    fallback = list(main_scenes) if design.reuse_main_scenes else []  # else: checked above, never needed
    for dataset, image_id in _draw_extra(practice, leftover, fallback, rng):
        plans.append(Plan("practice", dataset, image_id, systems[int(rng.integers(len(systems)))]))
    for dataset, image_id in _draw_extra(vigilance, leftover, fallback, rng):
        plans.append(Plan("vigilance", dataset, image_id, GROUND_TRUTH))
    return plans


def trial_ids(n: int, seed: int) -> list[str]:
    """Opaque ids: numbered in a seeded random order, so an id says nothing about its baseline."""
    order = np.random.default_rng([seed, 1]).permutation(n)
    return [f"t{int(i) + 1:04d}" for i in order]


def session_rng(seed: int, token: str) -> np.random.Generator:
    return np.random.default_rng([seed, int.from_bytes(hashlib.sha256(token.encode()).digest()[:8], "big")])


def session_schedule(study: Study, token: str, index: int) -> list[list[str]]:
    """[[trial_id, real_side], ...] in presentation order; real_side is 'left'/'right' (designs
    with sides: 2AFC) or ''."""
    rng = session_rng(study.seed, token)
    practice = [t.id for t in study.trials if t.kind == "practice"]
    mixed = study.rules.main_trials(study, index) + [t.id for t in study.trials if t.kind == "vigilance"]
    order = [practice[i] for i in rng.permutation(len(practice))] + [mixed[i] for i in rng.permutation(len(mixed))]
    sides = rng.integers(0, 2, size=len(order))  # drawn for every design: one random stream per token
    if not study.rules.sides:
        return [[t, ""] for t in order]
    return [[t, "left" if s else "right"] for t, s in zip(order, sides)]
