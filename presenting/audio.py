"""Example phrases as audio: FluidSynth with a General MIDI SoundFont, both from Debian's packages
(`make system-packages`, as root). Without them one line says how to install them, and everything
else runs.

FluidSynth writes a WAV file that goes on for about 2.6 s of near-silence after the last note
(it waits for the piano's release to die away completely); that tail is trimmed where the sound
falls below -60 dB, and the result is written as mono Ogg Vorbis at 22,050 Hz (soundfile), about
40 kbit/s: a 16-second phrase is ~70 kB, which browsers and MLflow's artifact viewer play. `PHRASEBENCH_FLUIDSYNTH` and `PHRASEBENCH_SOUNDFONT`
point at another binary or SoundFont.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SOUNDFONTS = (Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"), Path("/usr/share/sounds/sf2/default-GM.sf2"))
INSTALL = "`make system-packages` (as root; it runs apt-get install fluidsynth fluid-soundfont-gm)"
SAMPLE_RATE = 22_050
SUFFIX = ".ogg"
SILENCE = 1e-3  # -60 dB of full scale: the end of the sound
RELEASE_S = 0.25  # kept after it


@dataclass(frozen=True)
class Synth:
    binary: str
    soundfont: Path


def find_synth() -> tuple[Synth | None, str]:
    """(the synthesizer, "") or (None, one line saying what is missing and how to install it)."""
    binary = os.environ.get("PHRASEBENCH_FLUIDSYNTH") or "fluidsynth"
    found = shutil.which(binary)
    if found is None:
        return None, f"no audio: FluidSynth ({binary}) is not installed; {INSTALL} renders every example"
    named = os.environ.get("PHRASEBENCH_SOUNDFONT")
    fonts = [Path(named)] if named else list(SOUNDFONTS)
    font = next((f for f in fonts if f.is_file()), None)
    if font is None:
        return None, (f"no audio: no General MIDI SoundFont at {', '.join(map(str, fonts))}; {INSTALL} "
                      "(or set PHRASEBENCH_SOUNDFONT)")
    return Synth(found, font), ""


def render(synth: Synth, midi: Path, out: Path) -> Path:
    """`midi` rendered to Ogg Vorbis at `out`, its silent tail trimmed; a RuntimeError with
    FluidSynth's words if it fails."""
    import numpy as np
    import soundfile

    wav = out.with_suffix(".wav")
    argv = [synth.binary, "-ni", "-q", "-o", "synth.dynamic-sample-loading=1", "-g", "0.6", "-T", "wav", "-F", str(wav), "-r", str(SAMPLE_RATE),
            str(synth.soundfont), str(midi)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    if done.returncode != 0 or not wav.is_file() or wav.stat().st_size == 0:
        raise RuntimeError(f"fluidsynth failed on {midi.name} (exit {done.returncode}): "
                           f"{(done.stderr or done.stdout).strip()[:300]}")
    sound, rate = soundfile.read(str(wav), dtype="float32", always_2d=True)
    wav.unlink()
    mono = sound.mean(axis=1)
    loud = np.flatnonzero(np.abs(mono) > SILENCE)
    end = min(len(mono), (int(loud[-1]) + 1 if len(loud) else 0) + int(RELEASE_S * rate))
    soundfile.write(str(out), mono[: max(end, 1)], rate, format="OGG", subtype="VORBIS", compression_level=0.7)
    return out


def seconds(path: Path) -> float:
    """Duration of an audio file."""
    import soundfile

    return float(soundfile.info(str(path)).duration)
