"""2AFC (Zhang et al. 2016): the real photo and one colourisation of it side by side; which is real?

Score: 1 when the colourisation was picked as the real photo, else 0; the mean is the fool rate
(50% means people cannot tell the colourisation from the photo). The real photo's side is drawn
per session and trial. Practice trials tell the rater whether they were right. A vigilance trial
(the photo beside a copy with its hue turned by 180 degrees) is failed when the copy is picked.

Each rater sees each main scene once (a real photo seen twice would give itself away): session k
shows scene j with baseline (j + k) mod B, so B consecutive sessions together cover every
(scene, baseline) pair once and each session shows every baseline about equally often. For the
same reason practice and vigilance trials need scenes outside the main sample (else `study
create` refuses, naming the numbers).
"""
from __future__ import annotations

from colorbench.study.designs.base import Design, Measure


def main_trials(study, index: int) -> list[str]:
    """Session `index`'s main trials: one per scene, the baselines rotating over the sessions."""
    baselines = study.settings.baselines
    by_scene: dict[tuple[str, str], dict[str, str]] = {}
    for t in study.trials:
        if t.kind == "main":
            by_scene.setdefault((t.dataset, t.image_id), {})[t.system] = t.id
    chosen, position = [], {}
    for (dataset, _image_id), trials in by_scene.items():
        j = position[dataset] = position.get(dataset, -1) + 1
        chosen.append(trials[baselines[(j + index) % len(baselines)]])
    return chosen


def shown(trial, real_side: str) -> list[str]:
    return [trial.reference, trial.test] if real_side == "left" else [trial.test, trial.reference]


DESIGN = Design(
    name="2afc",
    summary="real vs fake",
    measure=Measure("fool_rate", "fool rate", "fool rate", "share of real-vs-fake trials where the colourisation was picked as the "
                    "real photo (50% = indistinguishable)", percent=True),
    score_meaning="1 = the colourisation was picked as the real photo, 0 = the real photo was",
    scale=(0, 1),
    answers=(("left", "This one is the real photo"), ("right", "This one is the real photo")),
    hidden_reference=False,
    sides=True,
    reuse_main_scenes=False,
    scenes_note="2AFC shows each real photo once",
    page="designs/twoafc.html",
    shown=shown,
    score=lambda answer, real_side: int(answer != real_side),
    vigilance_failed=lambda score: score == 1,
    practice_feedback=lambda answer, real_side: "correct" if answer == real_side else "wrong",
    main_trials=main_trials,
)
