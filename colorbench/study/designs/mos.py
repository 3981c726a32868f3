"""MOS: one picture at a time, its colours' naturalness rated 1 (Bad) to 5 (Excellent).

Trials: every selected baseline on the same scenes, plus the ground truth itself (the hidden
reference). Every rater sees every main trial, in their own order. Practice and vigilance
trials use scenes outside the main sample first, then main scenes (a rater sees every main scene
several times anyway; `study create` says how many were reused). A vigilance trial (the photo
with its hue turned by 180 degrees) is failed when rated above "Poor".
"""
from __future__ import annotations

from colorbench.study.designs.base import Design, Measure

SCALE = (1, 5)
LABELS = ("Bad", "Poor", "Fair", "Good", "Excellent")
VIGILANCE_PASS_MAX = 2  # a hue-rotated image rated above "Poor" fails the check


def main_trials(study, index: int) -> list[str]:
    return [t.id for t in study.trials if t.kind == "main"]


DESIGN = Design(
    name="mos",
    summary="rate naturalness 1-5",
    measure=Measure("mos", "MOS (1-5)", "MOS (1–5)", "mean opinion score of naturalness, 1 Bad .. 5 Excellent", percent=False),
    score_meaning="1..5 naturalness (1 Bad .. 5 Excellent)",
    scale=SCALE,
    answers=tuple(enumerate(LABELS, start=SCALE[0])),
    hidden_reference=True,
    sides=False,
    reuse_main_scenes=True,
    scenes_note="MOS raters see every main scene anyway",
    page="designs/mos.html",
    shown=lambda trial, _side: [trial.test],
    score=lambda answer, _side: int(answer),
    vigilance_failed=lambda score: score > VIGILANCE_PASS_MAX,
    practice_feedback=None,
    main_trials=main_trials,
)
