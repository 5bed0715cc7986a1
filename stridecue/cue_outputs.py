"""Where cues go: the terminal, audio (speech or tones), a haptic buzz on a sensor, JSON lines.

Every output has ``emit(cue, stride)``; none blocks the live loop (audio players run as child
processes, the buzz is a Bluetooth write scheduled on the event loop).

Audio needs a sound device (ALSA ``/dev/snd``, or a PulseAudio/PipeWire socket) and a program:
speech with ``espeak-ng`` (or ``espeak``), else distinct tones per rule played with ``aplay``,
``paplay`` or ``pw-play``. Without either the cue is printed as text with the reason, once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import tempfile
import wave
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np

from gait.cues import Cue

logger = logging.getLogger(__name__)

#: Tone per rule (Hz) and haptic pattern (on/off ms) per rule: distinct, overstride most urgent.
TONES_HZ = {"overstride": 880.0, "cadence": 660.0, "anterior_tilt": 523.0,
            "rotation_instability": 440.0, "hip_extension_asymmetry": 392.0}
BUZZ_MS = {"overstride": (150, 100, 150), "cadence": (80, 80, 80, 80, 80),
           "anterior_tilt": (400,), "rotation_instability": (250, 150, 250),
           "hip_extension_asymmetry": (600,)}


class CueOutput(Protocol):
    """One destination of cues."""

    def emit(self, cue: Cue, stride: Mapping[str, Any]) -> None:
        """Deliver one cue (must not block)."""

    def close(self) -> None:
        """Release what the output holds."""


def cue_text(cue: Cue) -> str:
    """One line: time, message, and the numbers that triggered it."""
    return (f"{cue.time_s:8.1f} s  CUE  {cue.message}   ({cue.rule}: {cue.value:g} {cue.unit}, "
            f"threshold {cue.threshold:g}, {cue.side} stride)")


class TerminalOutput:
    """Prints every cue (through ``write``, default stdout)."""

    def __init__(self, write: Callable[[str], None] | None = None) -> None:
        self.write = write or (lambda line: print(line, flush=True))

    def emit(self, cue: Cue, stride: Mapping[str, Any]) -> None:  # noqa: D102
        self.write(cue_text(cue))

    def close(self) -> None:  # noqa: D102
        pass


class JsonLinesOutput:
    """One JSON object per cue (``type: "cue"``, the cue and its stride) to a file or stdout."""

    def __init__(self, target: Path | str | IO[str]) -> None:
        if isinstance(target, str | Path):
            self._own = str(target) != "-"
            self._stream: IO[str] = open(target, "a", encoding="utf-8") if self._own else sys.stdout  # noqa: SIM115
        else:
            self._own, self._stream = False, target

    def emit(self, cue: Cue, stride: Mapping[str, Any]) -> None:  # noqa: D102
        record = {"type": "cue", **cue.as_dict(),
                  "stride": {k: json_value(v) for k, v in stride.items()}}
        self._stream.write(json.dumps(record, allow_nan=False) + "\n")
        self._stream.flush()

    def close(self) -> None:  # noqa: D102
        if self._own:
            self._stream.close()


def json_value(v: Any) -> Any:
    """A stride value as JSON takes it: NaN -> None, numpy scalars -> Python."""
    if isinstance(v, float | np.floating):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.integer | np.bool_):
        return v.item()
    return v


def audio_device_present() -> tuple[bool, str]:
    """Whether a sound device is reachable, and why not."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    sockets = [Path(runtime) / "pulse" / "native", Path(runtime) / "pipewire-0"] if runtime else []
    if os.environ.get("PULSE_SERVER") or any(p.exists() for p in sockets):
        return True, ""
    snd = Path("/dev/snd")
    if snd.is_dir() and any(p.name.startswith("pcm") and p.name.endswith("p") for p in snd.iterdir()):
        return True, ""
    return False, "no sound device (no /dev/snd playback device, no PulseAudio/PipeWire socket)"


def _write_tone(path: Path, freq_hz: float, *, duration_s: float = 0.25, repeats: int = 2) -> None:
    rate = 22050
    t = np.arange(int(duration_s * rate)) / rate
    env = np.minimum(1.0, np.minimum(t, duration_s - t) / 0.01)
    beep = 0.5 * np.sin(2 * np.pi * freq_hz * t) * env
    gap = np.zeros(int(0.08 * rate))
    sig = np.concatenate([np.concatenate([beep, gap]) for _ in range(repeats)])
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((sig * 32767).astype("<i2").tobytes())


class AudioOutput:
    """Speaks the cue (espeak-ng) or plays its tone; degrades to text without a sound device.

    Parameters
    ----------
    language
        Voice language (``en``, ``de``, ``es``, ``fr``).
    device_present
        Override the sound-device check (None: :func:`audio_device_present`).
    write
        Where the text fallback and the one-time notice go (default stdout).
    """

    def __init__(self, language: str = "en", *, device_present: bool | None = None,
                 write: Callable[[str], None] | None = None) -> None:
        self.language = language
        self.write = write or (lambda line: print(line, flush=True))
        present, why = audio_device_present() if device_present is None else (device_present, "")
        self.speech = next((p for p in ("espeak-ng", "espeak") if shutil.which(p)), None)
        self.player = next((p for p in ("aplay", "paplay", "pw-play") if shutil.which(p)), None)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.mode = "text"
        if not present:
            self.reason = why or "no sound device"
        elif self.speech:
            self.mode = "speech"
        elif self.player:
            self.mode = "tones"
            self._tmp = tempfile.TemporaryDirectory(prefix="stridecue-tones-")
            for rule, hz in TONES_HZ.items():
                _write_tone(Path(self._tmp.name) / f"{rule}.wav", hz)
            _write_tone(Path(self._tmp.name) / "tick.wav", 1760.0, duration_s=0.03, repeats=1)
        else:
            self.reason = "no speech program (espeak-ng) and no player (aplay, paplay, pw-play)"
        if self.mode == "text":
            self.write(f"audio cues unavailable ({self.reason}): cues are shown as text")
        self._children: list[subprocess.Popen[bytes]] = []

    def _spawn(self, argv: list[str]) -> None:
        self._children = [p for p in self._children if p.poll() is None]
        if len(self._children) >= 4:  # the device is stuck: do not pile up players
            return
        try:
            self._children.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                                   stderr=subprocess.DEVNULL))
        except OSError as exc:
            self.mode, self.reason = "text", f"{argv[0]} failed: {exc}"
            self.write(f"audio cues stopped ({self.reason}): cues are shown as text")

    def emit(self, cue: Cue, stride: Mapping[str, Any]) -> None:  # noqa: D102
        if self.mode == "speech":
            assert self.speech is not None
            self._spawn([self.speech, "-v", self.language, "-s", "170", cue.message])
        elif self.mode == "tones":
            assert self._tmp is not None and self.player is not None
            self._spawn([self.player, str(Path(self._tmp.name) / f"{cue.rule}.wav")])
        else:
            self.write(f"(audio) {cue.message}")

    def tick(self) -> None:
        """One metronome tick (tones need a player; speech-only machines tick with espeak)."""
        if self.mode == "tones":
            assert self._tmp is not None and self.player is not None
            self._spawn([self.player, str(Path(self._tmp.name) / "tick.wav")])
        elif self.mode == "speech":
            assert self.speech is not None
            self._spawn([self.speech, "-s", "400", "tick"])

    def close(self) -> None:  # noqa: D102
        for p in self._children:
            try:
                p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                p.kill()
        if self._tmp is not None:
            self._tmp.cleanup()


class HapticOutput:
    """Buzzes a sensor (stridecue profile Buzz command) with the rule's pattern.

    ``buzz(placement, pattern_ms)`` is the hub's coroutine; failures (sensor away) are counted and
    logged, never raised into the live loop.
    """

    def __init__(self, buzz: Callable[[str, tuple[int, ...]], Any], placement: str) -> None:
        self.buzz = buzz
        self.placement = placement
        self.sent = 0
        self.failed = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def _send(self, pattern: tuple[int, ...]) -> None:
        try:
            await self.buzz(self.placement, pattern)
            self.sent += 1
        except Exception as exc:  # noqa: BLE001 - a lost sensor must not stop the run
            self.failed += 1
            logger.warning("haptic cue not delivered to %s: %s", self.placement, exc)

    def emit(self, cue: Cue, stride: Mapping[str, Any]) -> None:  # noqa: D102
        task = asyncio.get_running_loop().create_task(self._send(BUZZ_MS.get(cue.rule, (300,))))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the buzzes in flight."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def close(self) -> None:  # noqa: D102
        pass


class Metronome:
    """Ticks once per step at the runner's cadence target while they run.

    The target is the cadence rule's: the runner's baseline cadence (from the profile, or the
    first running strides of the session) times ``1 + increase_percent / 100``. Ticking starts
    when a target exists and a running stride was decided within ``idle_after_s``, and stops when
    running stops (walking, standing, a lost sacrum). Ticks are scheduled on a fixed grid from
    the first one, so the beat does not drift with the caller's timing; a caller that fell behind
    skips the missed ticks rather than playing them in a burst.

    The class is pure scheduling (times in, ticks out): :meth:`step` is called with the current
    time and returns how long to wait before calling again.

    Parameters
    ----------
    tick
        Plays one tick (e.g. :meth:`AudioOutput.tick`).
    increase_percent
        Target above the baseline cadence, percent.
    idle_after_s
        Stop ticking this long after the last running stride, seconds.
    time_scale
        Session seconds per wall-clock second (a simulated run played faster).
    """

    def __init__(self, tick: Callable[[], None], *, increase_percent: float,
                 idle_after_s: float = 3.0, time_scale: float = 1.0) -> None:
        self.tick = tick
        self.increase_percent = increase_percent
        self.idle_after_s = idle_after_s
        self.time_scale = time_scale
        self.ticks = 0
        self.target_spm = math.nan
        self._next_s: float | None = None

    @property
    def on(self) -> bool:
        """Whether the metronome is ticking (a target exists and the runner runs)."""
        return self._next_s is not None

    def step(self, now_s: float, *, baseline_cadence_spm: float | None,
             last_running_stride_s: float | None) -> float:
        """Tick if one is due at ``now_s``; the seconds until the next call.

        Parameters
        ----------
        now_s
            Current time (any monotonic clock, seconds).
        baseline_cadence_spm
            The runner's baseline cadence (steps/min), None or NaN while unknown.
        last_running_stride_s
            When the newest running stride was decided (same clock), None before any.
        """
        base = math.nan if baseline_cadence_spm is None else float(baseline_cadence_spm)
        self.target_spm = base * (1.0 + self.increase_percent / 100.0)
        running = (last_running_stride_s is not None
                   and now_s - last_running_stride_s <= self.idle_after_s / self.time_scale)
        if not (running and math.isfinite(self.target_spm) and self.target_spm > 0):
            self._next_s = None
            return 0.25 / self.time_scale
        interval_s = 60.0 / self.target_spm / self.time_scale
        if self._next_s is None:
            self._next_s = now_s
        if now_s >= self._next_s:
            self.tick()
            self.ticks += 1
            self._next_s += interval_s
            if self._next_s <= now_s:  # fell behind: keep the grid, skip what was missed
                self._next_s += math.ceil((now_s - self._next_s) / interval_s + 1e-9) * interval_s
        return max(0.0, self._next_s - now_s)
