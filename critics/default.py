"""The default critic: a fixed, versioned instrument shipped with the suite, as FID ships its
network. It was trained by one recorded command (README, "The critic"), its file lives in
`critics/default/`, and every leaderboard run carries the file's SHA-256 (`critic_sha`), so two
users' numbers are comparable when the tags match.

It is used whenever the phrase data matches what it was trained on (the same tokenizer and the
same phrase length) and the user has trained no critic of their own on that data
(`benchmark.lookup.find_critic`).
"""

from __future__ import annotations

from pathlib import Path

from phrases.files import file_sha256

VERSION = "v6"
FILE = Path(__file__).resolve().parent / "default" / f"critic-{VERSION}.pt"
SHA256 = "1f9a7ed58357d81ac0bdd0ca0a346745aee94fa6210485b4e7d76269780b846c"  # the file's SHA-256, checked on every load


def available() -> bool:
    return bool(SHA256) and FILE.is_file()


def load(device: str = "auto"):
    """The default critic, after checking that its file is the versioned one."""
    from critics.registry import critic_class_of_kind
    from phrases.errors import UserError
    from training.checkpoint import load_checkpoint

    sha = file_sha256(FILE)
    if sha != SHA256:
        raise UserError(f"{FILE}: its SHA-256 {sha[:12]} is not the default critic {VERSION}'s ({SHA256[:12]}); "
                        "restore it with `git checkout -- critics/default`")
    return critic_class_of_kind(load_checkpoint(FILE)["kind"]).load(FILE, device)


def matches(critic, data) -> bool:
    """Whether `critic` can score `data`'s phrases: the same vocabulary and phrase length."""
    return (critic.tokenizer.vocab == data.tokenizer.vocab
            and critic.phrase_config.get("phrase_bars") == data.config.phrase_bars
            and critic.phrase_config.get("tracks") == data.config.tracks)
