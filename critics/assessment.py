"""What a critic's training measures once its weights are final, as the last part of its fit:
both sides of the validity suite and the mixing ladder on the test split (`critics.validity`),
their figures (kept in the checkpoint as `critic.validity`) and the metric card
(`critics.card`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from critics.card import make_card
from critics.validity import bland_suite, mixing_ladder, validity_metrics, validity_suite
from metrics.plagiarism import TrainingPatterns
from phrases.unigram import Unigram


@dataclass
class Assessment:
    """How to assess (set by whoever trains the critic) and, after its fit, what was found."""

    seed: int = 0
    max_phrases: int | None = None  # test phrases the suite reads (None: all)
    domain: str = ""  # the music it was trained on, in words (the card's)
    log: Callable[[str], None] = print
    strange: list = field(default_factory=list)  # validity suite rows
    bland: list = field(default_factory=list)  # bland-side rows
    ladder: list = field(default_factory=list)  # (q, gap)
    figures: dict = field(default_factory=dict)


def assess(critic, train_split, test_split, assessment: Assessment, version: str, log=print) -> Assessment:
    """Run both sides of the validity suite and the ladder on `test_split`; set `critic.validity`
    and `critic.card`; returns `assessment` with what was found."""
    a = assessment
    log(f"critic: validity suite on {min(len(test_split), a.max_phrases or len(test_split)):,} test phrases")
    unigram = Unigram.fit(train_split, critic.vocab)
    training = TrainingPatterns.from_split(train_split)
    a.strange = validity_suite(critic, test_split, unigram, seed=a.seed, max_phrases=a.max_phrases, training=training)
    a.bland = bland_suite(critic, test_split, train_split, seed=a.seed, max_phrases=a.max_phrases, training=training)
    a.ladder = mixing_ladder(critic, test_split, unigram, seed=a.seed, max_phrases=a.max_phrases)
    a.figures = {**validity_metrics(a.strange, a.bland),
                 **{f"ladder_gap_q{int(q * 100):03d}": gap for q, gap in a.ladder}}
    critic.validity = a.figures  # the checkpoint carries its own validity figures, wherever it goes
    critic.card = make_card(version, a.strange, a.bland, a.ladder, a.domain, getattr(critic, "domain", None))
    return a
