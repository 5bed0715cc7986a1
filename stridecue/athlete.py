"""The athlete profile: one TOML file per runner (sensors, body, cue rules, language, baselines).

Example (every section and key is optional; see ``docs/live.md``)::

    [athlete]
    name = "Sam"
    height_m = 1.78
    injured_side = "right"
    lap_distance_m = 400

    [sensors]                     # address or advertised name per placement
    sacrum = "stridecue-S1"
    thigh_left = "stridecue-T1"

    [cues]
    language = "en"               # en | de | es | fr
    outputs = ["terminal", "audio", "haptic"]   # + "jsonl"
    min_gap_s = 6
    haptic_sensor = "sacrum"
    metronome = false             # tick at the cadence target while running (needs audio)
    cadence_increase_percent = 5

    [cues.rules.overstride]       # any CueRule field: enabled, threshold, k, n, hysteresis...
    threshold = 26.0

    [baseline]                    # personal baselines; else taken from the first running minutes
    pelvis_tilt_mean_deg = 5.0

    [calibration]
    from_session = "sessions/monday"   # reuse that session's sensor-to-segment calibration

    [mobility]                    # targets of `stridecue mobility` for this athlete
    straight_leg_raise_target_deg = 65
    hip_flexor_target_deg = 10
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gait.cues import CueRule, default_rules
from stridecue import constants as c
from stridecue.errors import StridecueError


class ProfileError(StridecueError):
    """The athlete profile cannot be used as written."""


#: Cue messages per language (rule name -> text); English is the rules' own text.
MESSAGES: dict[str, dict[str, str]] = {
    "en": {r.name: r.message for r in default_rules()},
    "de": {
        "overstride": "Kürzere Schritte, unter dem Körper landen",
        "cadence": "Schnellere, leichtere Schritte",
        "anterior_tilt": "Becken aufrichten, groß laufen",
        "rotation_instability": "Hüfte ruhig halten, weniger Drehen",
        "hip_extension_asymmetry": "Mit beiden Beinen gleich abdrücken",
    },
    "es": {
        "overstride": "Zancada más corta, aterriza bajo tu cuerpo",
        "cadence": "Pasos más rápidos y ligeros",
        "anterior_tilt": "Mete la pelvis, corre erguido",
        "rotation_instability": "Cadera estable, menos giro",
        "hip_extension_asymmetry": "Empuja igual con ambas piernas",
    },
    "fr": {
        "overstride": "Foulée plus courte, pose le pied sous toi",
        "cadence": "Pas plus rapides et plus légers",
        "anterior_tilt": "Rentre le bassin, cours grand",
        "rotation_instability": "Stabilise le bassin, moins de rotation",
        "hip_extension_asymmetry": "Pousse autant avec les deux jambes",
    },
}

OUTPUTS = ("terminal", "audio", "haptic", "jsonl")
#: Mobility targets a profile may set, with their plausible range (degrees).
MOBILITY_TARGET_RANGES_DEG = {"straight_leg_raise_target_deg": (30.0, 110.0),
                              "hip_flexor_target_deg": (0.0, 30.0)}
_ATHLETE_KEYS = {"name", "height_m", "leg_length_m", "sensor_height_m", "injured_side", "lap_distance_m"}
_CUE_KEYS = {"language", "outputs", "min_gap_s", "haptic_sensor", "metronome",
             "cadence_increase_percent", "rules"}
_RULE_FIELDS = {f.name for f in dataclasses.fields(CueRule)} - {"name", "metric", "direction", "unit"}


@dataclass
class AthleteProfile:
    """A parsed profile (see module docs); :meth:`default` when no file is given."""

    athlete: dict[str, Any] = field(default_factory=dict)
    sensors: dict[str, str] = field(default_factory=dict)
    language: str = "en"
    outputs: tuple[str, ...] = ("terminal", "audio")
    min_gap_s: float = 6.0
    haptic_sensor: str = c.SACRUM
    metronome: bool = False
    cadence_increase_percent: float = 5.0
    rule_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    baseline: dict[str, float] = field(default_factory=dict)
    calibration_from: Path | None = None
    mobility_targets: dict[str, float] = field(default_factory=dict)
    path: Path | None = None

    @classmethod
    def default(cls) -> AthleteProfile:
        """The profile used without a file."""
        return cls()

    @property
    def name(self) -> str:
        """The athlete's name ('' when not given)."""
        return str(self.athlete.get("name", ""))

    def cue_rules(self) -> list[CueRule]:
        """The default rules with this profile's overrides, language and cadence target."""
        rules = []
        messages = MESSAGES[self.language]
        for rule in default_rules():
            rule = replace(rule, message=messages.get(rule.name, rule.message))
            if rule.name == "cadence":
                rule = replace(rule, baseline_fraction=self.cadence_increase_percent / 100.0)
            rule = replace(rule, **self.rule_overrides.get(rule.name, {}))
            rules.append(rule)
        return rules


def _table(data: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ProfileError(f"{where}: [{key}] must be a table of settings")
    return dict(value)


def _unknown(found: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(found) - allowed)
    if extra:
        raise ProfileError(
            f"{where}: unknown setting(s) {', '.join(extra)}; allowed: {', '.join(sorted(allowed))}"
        )


def _number(value: Any, where: str, *, low: float = -math.inf, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ProfileError(f"{where} must be a number between {low:g} and {high:g}, got {value!r}")
    return float(value)


def load_profile(path: Path | str) -> AthleteProfile:
    """Read and check an athlete profile TOML file."""
    path = Path(path)
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"{where}: no such profile; create it (see docs/live.md)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{where}: not valid TOML ({exc}); fix the line it names") from None
    _unknown(data, {"athlete", "sensors", "cues", "baseline", "calibration", "mobility"}, where)
    athlete = _table(data, "athlete", where)
    _unknown(athlete, _ATHLETE_KEYS, f"{where} [athlete]")
    for key in ("height_m", "leg_length_m", "sensor_height_m"):
        if key in athlete:
            _number(athlete[key], f"{where} [athlete] {key} (metres)", low=0.3, high=2.5)
    if "lap_distance_m" in athlete:
        _number(athlete["lap_distance_m"], f"{where} [athlete] lap_distance_m", low=10, high=10000)
    if athlete.get("injured_side", c.LEFT) not in (c.LEFT, c.RIGHT):
        raise ProfileError(f"{where} [athlete] injured_side must be 'left' or 'right'")
    sensors = _table(data, "sensors", where)
    _unknown(sensors, {c.SACRUM, c.THIGH_LEFT, c.THIGH_RIGHT}, f"{where} [sensors]")
    cues = _table(data, "cues", where)
    _unknown(cues, _CUE_KEYS, f"{where} [cues]")
    language = str(cues.get("language", "en"))
    if language not in MESSAGES:
        raise ProfileError(f"{where} [cues] language {language!r} is not available; use one of "
                           f"{', '.join(MESSAGES)}")
    outputs = tuple(cues.get("outputs", ("terminal", "audio")))
    bad = [o for o in outputs if o not in OUTPUTS]
    if bad:
        raise ProfileError(f"{where} [cues] outputs {bad} unknown; use any of {', '.join(OUTPUTS)}")
    overrides: dict[str, dict[str, Any]] = {}
    known = {r.name for r in default_rules()}
    for name, spec in _table(cues, "rules", f"{where} [cues]").items():
        if name not in known:
            raise ProfileError(f"{where} [cues.rules.{name}]: no such rule; rules: {', '.join(sorted(known))}")
        if not isinstance(spec, dict):
            raise ProfileError(f"{where} [cues.rules.{name}] must be a table")
        _unknown(spec, _RULE_FIELDS, f"{where} [cues.rules.{name}]")
        overrides[name] = spec
    baseline = {}
    for key, value in _table(data, "baseline", where).items():
        baseline[key] = _number(value, f"{where} [baseline] {key}")
    cal = _table(data, "calibration", where)
    _unknown(cal, {"from_session"}, f"{where} [calibration]")
    cal_from = None
    if "from_session" in cal:
        cal_from = Path(cal["from_session"])
        if not cal_from.is_absolute():
            cal_from = path.parent / cal_from
    mobility = _table(data, "mobility", where)
    _unknown(mobility, set(MOBILITY_TARGET_RANGES_DEG), f"{where} [mobility]")
    targets = {key: _number(value, f"{where} [mobility] {key}", low=MOBILITY_TARGET_RANGES_DEG[key][0],
                            high=MOBILITY_TARGET_RANGES_DEG[key][1])
               for key, value in mobility.items()}
    haptic = str(cues.get("haptic_sensor", c.SACRUM))
    if haptic not in (c.SACRUM, c.THIGH_LEFT, c.THIGH_RIGHT):
        raise ProfileError(f"{where} [cues] haptic_sensor must be a placement, got {haptic!r}")
    return AthleteProfile(
        athlete=athlete,
        sensors={k: str(v) for k, v in sensors.items()},
        language=language,
        outputs=outputs,
        min_gap_s=_number(cues.get("min_gap_s", 6.0), f"{where} [cues] min_gap_s", low=0, high=600),
        haptic_sensor=haptic,
        metronome=bool(cues.get("metronome", False)),
        cadence_increase_percent=_number(cues.get("cadence_increase_percent", 5.0),
                                         f"{where} [cues] cadence_increase_percent", low=0, high=30),
        rule_overrides=overrides,
        baseline=baseline,
        calibration_from=cal_from,
        mobility_targets=targets,
        path=path,
    )
