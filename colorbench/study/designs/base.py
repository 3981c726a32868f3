"""What a study design is: one object holding everything that differs from one kind of study to
another (how a trial is shown, what a rater may answer, how an answer is scored and checked, what
the mean score measures, and how a rater's session is put together).

Every other module asks the study's design (Study.rules, or DESIGNS.get(name)) instead of
comparing its name. A new design is one module here, registered in designs/__init__.py, and its
page partial in study/templates/designs/ (macros style(), instructions(), stage(answers) and the
variables keys and feedback_text: see mos.html).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# A trial and a study (colorbench.study.spec's Trial and Study) are typed Any here: the designs sit
# below spec.py (which checks a study's design name against DESIGNS) and import nothing from it.
Answer = int | str


@dataclass(frozen=True)
class Measure:
    """What a system's mean score is."""

    name: str  # analysis.json's `measure`
    label: str  # in `study analyze`'s table
    report_label: str  # in the report's People section
    definition: str  # what it means, in the report
    percent: bool  # the report shows it as a percentage


@dataclass(frozen=True)
class Design:
    name: str  # study.json's `design` and `study create --design`
    summary: str  # one line, in --design's help
    measure: Measure
    score_meaning: str  # what a stored score means, in export.json
    scale: tuple[int, int]  # lowest and highest score (the rated folder's scale; alpha's value domain)
    answers: tuple[tuple[Answer, str], ...]  # (value sent, button label): every answer a rater may give
    hidden_reference: bool  # the ground truth itself is shown as one more system (system "")
    sides: bool  # each scheduled trial gets a real side, 'left' or 'right', drawn per session
    reuse_main_scenes: bool  # practice and vigilance trials may show main scenes once the others are used up
    scenes_note: str  # why they may (or may not), in `study create`'s messages
    page: str  # the trial page's partial under study/templates/
    shown: Callable[[Any, str], list[str]]  # (trial, real side) -> image names, in display order
    score: Callable[[Answer, str], int]  # (answer, real side) -> the stored score
    vigilance_failed: Callable[[int], bool]  # a vigilance trial's score (its image hue-rotated) -> failed the check
    practice_feedback: Callable[[Answer, str], str] | None  # (answer, real side) -> "correct" | "wrong"; None: no feedback
    main_trials: Callable[[Any, int], list[str]]  # (study, session index) -> the ids of the session's main trials

    @property
    def answer_values(self) -> list[Answer]:
        return [value for value, _ in self.answers]
