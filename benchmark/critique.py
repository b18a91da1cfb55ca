"""`critique`: rate MIDI files with the critic, window by window, as the benchmark would."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from critics.domain import LABELS, DomainProfile, critic_profile
from phrases.config import PhraseConfig
from phrases.errors import UserError
from phrases.pipeline import file_windows
from phrases.scan import describe_skip, find_midi_files


@dataclass
class FileRating:
    path: Path
    start_bars: list[int] = field(default_factory=list)
    anomaly: np.ndarray = field(default_factory=lambda: np.zeros(0))
    realness: np.ndarray = field(default_factory=lambda: np.zeros(0))
    skipped: str = ""  # why the file gave no window ("" when rated)
    windows_dropped: int = 0
    components: dict[str, np.ndarray] = field(default_factory=dict)  # what each window's anomaly was made of
    outside: list[str] = field(default_factory=list)  # its properties outside the critic's domain (critics.domain)
    outside_what: list[str] = field(default_factory=list)  # their names ("polyphony", ...)


def midi_files(path: Path) -> list[Path]:
    """`path` itself, or the MIDI files of the folder `path`."""
    if path.is_dir():
        return find_midi_files(path, "folder", "give a MIDI file or a folder of them").files
    if not os.path.lexists(path):
        raise UserError(f"{path}: no such file or folder; give a MIDI file or a folder of them")
    return [path]  # a file of any kind: reading it says what is wrong with it


def critique(files: list[Path], critic, profile: DomainProfile | None = None) -> list[FileRating]:
    """Windows of every file cut as the critic's training data was (its phrase config, stride =
    phrase bars), each scored: anomaly, realness and the anomaly's components; with a domain
    `profile`, the file's properties outside it (the median over its windows' halves)."""
    config = PhraseConfig.from_dict({**critic.phrase_config, "stride_bars": None}) if critic.phrase_config \
        else PhraseConfig()
    ratings = []
    for f in files:
        reason, w = file_windows(f, config, critic.tokenizer)
        if reason is not None:
            why = describe_skip(reason)
            if reason == "no_windows":
                why = (f"no window of {2 * config.phrase_bars} bars with {config.min_notes}+ notes in each half "
                       f"and at most {config.max_tokens} tokens")
            ratings.append(FileRating(f, skipped=why))
            continue
        analysis = critic.analyze(w.context_ids, w.continuation_ids)
        values = DomainProfile.values([*w.context_notes, *w.continuation_notes], [*w.tempo_qpm, *w.tempo_qpm])
        what = profile.outside(values) if profile else []
        ratings.append(FileRating(f, list(w.start_bar), analysis.anomaly, critic.realness(analysis.anomaly),
                                  windows_dropped=w.dropped_few_notes + w.dropped_too_long, components=analysis.components,
                                  outside=profile.check_values(values) if profile else [],
                                  outside_what=[LABELS[k] for k in what]))
    if not any(len(r.anomaly) for r in ratings):
        first = f"{ratings[0].path}: {ratings[0].skipped}"
        raise UserError(first if len(ratings) == 1 else f"no file of {len(ratings)} gave a window to score (first: {first})")
    return ratings


def report(ratings: list[FileRating], critic, domain: str = "") -> list[str]:
    """Lines for people: every window, every file, overall; a warning for every file outside the
    critic's domain and a line that counts them (`domain`: "domain unknown ..." or "" to say it
    nowhere)."""
    lines = []
    for r in ratings:
        if r.skipped:
            lines.append(f"{r.path}: skipped ({r.skipped})")
            continue
        lines += [f"  bars {b + 1:>3}+  anomaly {a:6.3f}  realness {real:.3f}"
                  + "".join(f"  {k} {round(float(v[i]), 3):g}" for k, v in r.components.items())
                  for i, (b, a, real) in enumerate(zip(r.start_bars, r.anomaly, r.realness))]
        lines.append(f"{r.path}: {len(r.anomaly)} windows, mean anomaly {r.anomaly.mean():.3f}, mean realness "
                     f"{r.realness.mean():.3f}" + (f" ({r.windows_dropped} windows skipped)" if r.windows_dropped else ""))
        if r.outside:
            lines.append(f"warning: {r.path} is outside the critic's domain: {'; '.join(r.outside)}")
    scores = np.concatenate([r.anomaly for r in ratings])
    lines.append(f"overall: {sum(1 for r in ratings if len(r.anomaly))} files, {len(scores)} windows, mean anomaly "
                 f"{scores.mean():.3f}, mean realness {critic.realness(scores).mean():.3f} (real held-out jazz ~0.5)")
    return lines + domain_lines(ratings, domain)


def domain_lines(ratings: list[FileRating], domain: str) -> list[str]:
    """The overall domain line: how many rated files are outside the critic's domain and by
    which properties; `domain` instead when it says the domain is unknown."""
    if domain:
        return [f"warning: {domain}"]
    rated = [r for r in ratings if len(r.anomaly)]
    outside = [r for r in rated if r.outside]
    if not outside:
        return []
    counts: dict[str, int] = {}
    for r in outside:
        for label in r.outside_what:
            counts[label] = counts.get(label, 0) + 1
    by = ", ".join(f"{label} in {n}" for label, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    return [f"warning: {len(outside)} of {len(rated)} files are outside the critic's domain ({by}): their realness "
            "says little"]


def critique_command(path: Path, data, checkpoint: Path | None, device: str, log) -> list[str]:
    """`cli.py critique`: rate the files with the critic of this data (or `checkpoint`); the lines it prints."""
    from benchmark.lookup import find_critic

    files = midi_files(path)
    found = find_critic(data, device, checkpoint)
    log(f"using {found.description}")
    profile, source = critic_profile(found.model, data)
    if profile:
        log(f"domain ({source}): {profile.summary()}; {100 * profile.false_alarms:.2f}% of its {profile.halves} "
            "training phrase halves are outside")
    return report(critique(files, found.model, profile), found.model, "" if profile else source)
