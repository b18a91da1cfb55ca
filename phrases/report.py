"""The prepare report (files, skips, windows, splits) for people to read: lines and a table."""

from __future__ import annotations

from phrases.config import SPLITS


def summary(report: dict) -> list:
    """A `prepare` report for people: lines, and the splits as a (title, header, rows) table."""
    skipped = report["files_skipped"]
    before = [f"[bold]corpus[/bold]     {report['corpus']}",
              f"[bold]files[/bold]      {report['files_found']} found, {report['files_parsed']} parsed, "
              f"{sum(skipped.values())} skipped" + "".join(f", {n} {reason}" for reason, n in skipped.items() if n)]
    for reason, names in report.get("skipped_files", {}).items():
        shown = ", ".join(names[:5]) + (f", ... ({len(names) - 5} more)" if len(names) > 5 else "")
        before.append(f"  skipped ({reason}): {shown}")
    for name, error in list(report.get("file_errors", {}).items())[:5]:
        before.append(f"  {name}: {error}")
    if report.get("unreadable_folders"):
        before.append(f"  folders that could not be read (their files are not counted): "
                      f"{', '.join(report['unreadable_folders'][:5])}")
    dropped = report["windows_dropped"]
    before.append(f"[bold]windows[/bold]    dropped {dropped.get('few_notes', 0)} with too few notes, "
                  f"{dropped.get('too_long', 0)} over --max-tokens")
    rows = [[s, str(report["songs"][s]), f"{report['windows'][s]:,}", f"{report['tokens'][s]:,}"] for s in SPLITS]
    disjoint = "no song in two splits" if report["songs_disjoint"] else "SONGS SHARED BETWEEN SPLITS"
    after = [f"[bold]songs[/bold]      split by song: {disjoint}",
             f"[bold]vocabulary[/bold] {report['vocab_size']} tokens ({report['tokenizer']})",
             f"[bold]cache[/bold]      {report['cache_path']} ({'loaded' if report['cached'] else 'built'} in "
             f"{report['seconds']:.2f} s)",
             f"[bold]data_hash[/bold]  {report['data_hash']}"]
    return [*before, ("", ["split", "songs", "windows", "tokens"], rows), *after]
