"""The report a person opens: one self-contained HTML page per benchmark (images and audio
embedded), written next to the run (`outputs/benchmarks/<benchmark_id>/report.html`) and logged
with every leaderboard row, so MLflow's artifact viewer shows it."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.critic_status import CriticFacts
from benchmark.leaderboard import RANK_RULE
from presenting.critic_card import card_lines
from presenting.table import table_notes, table_rows

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1500px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ccc; } h3 { margin-bottom: 0.3em; }
code { background: #f3f3f3; padding: 0 0.25em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; white-space: nowrap; }
th { background: #f3f3f3; } td.name, th.name { text-align: left; } small { color: #666; }
tr.failed td { color: #a00; } .below { color: #a00; font-weight: bold; }
.notes li { margin: 0.2em 0; } .meta td { text-align: left; } img.rolls { max-width: 100%; border: 1px solid #ddd; }
.examples { display: flex; flex-wrap: wrap; gap: 1em; margin: 0.5em 0 1.5em; }
figure { margin: 0; padding: 0.5em; border: 1px solid #ddd; border-radius: 4px; }
figcaption { font-size: 0.9em; margin-bottom: 0.3em; } audio { width: 330px; }
"""
# Each player shows its length once the browser has read it (and marks itself for tests).
SCRIPT = """
document.querySelectorAll('audio').forEach(function (a) {
  a.addEventListener('loadedmetadata', function () {
    a.dataset.seconds = a.duration.toFixed(2);
    var s = a.parentElement.querySelector('.length'); if (s) s.textContent = a.duration.toFixed(1) + ' s';
  });
  a.load();
});
"""


@dataclass
class ExampleMedia:
    title: str  # "CharlieParker_DonnaLee_FINAL, bars 17-24"
    score: str  # "anomaly 2.31, realness 0.42"
    midi: Path
    audio: Path | None = None


@dataclass
class RowMedia:
    name: str
    rolls_png: bytes | None = None
    profile_png: bytes | None = None  # presenting/musical_profile.py: where the row sits against real
    examples: list[ExampleMedia] = field(default_factory=list)


def _e(text) -> str:
    return html.escape(str(text))


def _attr(text) -> str:
    return f'"{html.escape(str(text))}"'


def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _cell(text: str, cls: str = "") -> str:
    """A table cell: a second line (a row's note) or an interval "[low, high]" in small type below."""
    first, *rest = text.split("\n")
    if " [" in first:
        first, interval = first.split(" [", 1)
        rest.insert(0, "[" + interval)
    extra = "".join(f"<br><small>{_e(r)}</small>" for r in rest)
    return f"<td{f' class={cls}' if cls else ''}>{_e(first)}{extra}</td>"


def _leaderboard(entries: list[tuple]) -> str:
    header, rows = table_rows(entries, wide=True)
    head = "".join(f"<th{' class=name' if h == 'row' else ''}>{_e(h.split(chr(10))[0])}"
                   + (f"<br><small>{_e(h.split(chr(10))[1])}</small>" if "\n" in h else "") + "</th>" for h in header)
    body = []
    for (name, status, _, _), cells in zip(entries, rows):
        tds = "".join(_cell(c, "name" if j == 1 else "") for j, c in enumerate(cells))
        body.append(f"<tr data-row={_attr(name)}{' class=failed' if status != 'ok' else ''}>{tds}</tr>")
    return f"<table id=leaderboard><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _critic(facts: CriticFacts | None) -> str:
    if facts is None:
        return "<p>critic facts unavailable</p>"
    rows = []
    for k, v in sorted(facts.auroc.items()):
        floor = facts.floor.get(k)
        below = floor is not None and v < floor
        margin = "-" if floor is None else f"{v - floor:+.3f}" + (" below" if below else "")
        rows.append(f"<tr><td class=name>{_e(k)}</td><td{' class=below' if below else ''}>{v:.3f}</td>"
                    f"<td>{'-' if floor is None else f'{floor:.3f}'}</td><td{' class=below' if below else ''}>"
                    f"{_e(margin)}</td></tr>")
    verdict = "clears its validity floor" if facts.validity == "ok" else facts.validity
    return (f"<table class=meta><tr><td>MLflow run</td><td><code>{_e(facts.run_id)}</code></td></tr>"
            f"<tr><td>sha256 of its weights</td><td><code id=critic-sha>{_e(facts.sha256)}</code></td></tr>"
            f"<tr><td>training budget</td><td>{_e(facts.budget)}</td></tr>"
            f"<tr><td>source</td><td>{_e(facts.source)}</td></tr></table>"
            f"<p>Validity suite (AUROC of the critic's anomaly, corrupted vs real test continuations, and of the "
            f"primary score, rule-made bland families vs real; 0.5 is blind, 1 perfect): the critic "
            f"<span{' class=below' if facts.validity != 'ok' else ''}>{_e(verdict)}"
            f"</span>.</p><table id=critic-validity><tr><th class=name>corruption</th><th>auroc</th><th>floor</th>"
            f"<th>auroc - floor</th></tr>{''.join(rows)}</table>"
            f"<h3>Metric card</h3><pre id=critic-card>{_e(chr(10).join(card_lines(facts.card)))}</pre>")


def _row(rank: int, media: RowMedia, audio_note: str) -> str:
    parts = [f"<section id={_attr('row-' + media.name)}><h3>#{rank} {_e(media.name)}</h3>"]
    if media.profile_png:
        parts.append(f"<img class=profile alt={_attr('musical profile of ' + media.name)} "
                     f"src={_attr(_data_uri('image/png', media.profile_png))}>")
    if media.rolls_png:
        parts.append(f"<img class=rolls alt={_attr('piano rolls of ' + media.name)} "
                     f"src={_attr(_data_uri('image/png', media.rolls_png))}>")
    figures = []
    for ex in media.examples:
        if ex.audio is not None:
            player = (f"<audio controls preload=metadata src={_attr(_data_uri('audio/ogg', ex.audio.read_bytes()))}>"
                      f"</audio> <span class=length></span>")
        else:
            player = f"<small>{_e(audio_note)}</small>"
        figures.append(f"<figure><figcaption><b>{_e(ex.title)}</b><br>{_e(ex.score)}</figcaption>{player}</figure>")
    if figures:
        parts.append(f"<div class=examples>{''.join(figures)}</div>")
    return "".join(parts) + "</section>"


def write_report(path: Path, benchmark_id: str, command: str, meta: dict[str, str], entries: list[tuple],
                 critic: CriticFacts | None, media: dict[str, RowMedia], audio_note: str = "") -> Path:
    """The page: what ran, the ranked table with intervals and its notes, the critic, then every
    row's piano rolls and an audio player per example phrase (context, then continuation)."""
    notes = "".join(f"<li>{_e(n)}</li>" for n in table_notes(entries, wide=True))
    info = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in meta.items())
    rows = "".join(_row(i, media[e[0]], audio_note) for i, e in enumerate(entries, 1) if e[0] in media)
    page = f"""<!doctype html>
<html lang=en><head><meta charset=utf-8><title>phrasebench leaderboard {_e(benchmark_id)}</title>
<style>{STYLE}</style></head><body>
<h1>phrasebench leaderboard <code>{_e(benchmark_id)}</code></h1>
<p>Made by <code id=command>{_e(command)}</code></p>
<table class=meta>{info}</table>
<h2>Ranking</h2>
<p>{_e(RANK_RULE)}. Each column says its best value; [low, high] is the 95% bootstrap interval.</p>
{_leaderboard(entries)}
<ul class=notes>{notes}</ul>
<h2>Critic</h2>
{_critic(critic)}
<h2>Rows</h2>
<p>Every example is one test phrase: the context (blue in the piano roll), then the row's continuation
(orange; the real one in green). The players play context and continuation together
({_e(audio_note or 'FluidSynth, General MIDI piano')}).</p>
{rows}
<script>{SCRIPT}</script>
</body></html>
"""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
