"""Sampled drum kits from Hydrogen, as data: recorded and multi-sampled kits to train and test on.

Debian packages them: `hydrogen-data` (2 kits: GMRockKit, TR808EmulationKit) and
`hydrogen-drumkits` (14 more). A kit is a folder with a `drumkit.xml` (its instruments, each
with velocity layers: a sample file for a range of velocities in [0, 1]) and FLAC/WAV samples.

    kit = hydrogen.load("GMRockKit")               # a SampledKit; HydrogenKitError if not installed
    kit.instruments_of("snare")                    # the instruments that count as snare
    layer = kit.instruments_of("kick")[0].layer(0.8)   # the sample a kick at velocity 0.8 plays
    hydrogen.split("train")                        # the kit names of a split

Instrument names map to drum roles by the `ROLES` table (first match wins), and roles to the
three voices of DrumLoop: kick; snare, rimshot, side stick and clap count as snare; closed,
pedal and open hi-hat count as hat; toms, cymbals, percussion and everything else count as none
of the three. Kits are split by name (`SPLITS`): train and dev to choose and tune on, held-out
run once at the end. Kits that share samples (GMRockKit and The Black Pearl share 81) are in
the same split.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from raveforce.errors import ArgumentError, RaveForceError

# (role, voice or None, pattern on the lower-cased instrument name); the first match wins.
ROLES: tuple[tuple[str, str | None, str], ...] = (
    ("roll", None, r"\broll\b"),
    ("percussion", None, r"cowbell|conga|bongo|clave|shaker|tambourine|maraca|agogo|woodblock|cajon|djembe|sangban|kenkeni|dunun|dundun|whistle|snap|\bzap\b|\bfx\b|triangle|waterglass|timbale|guiro|cabasa"),
    ("crash", None, r"crash|splash|china"),
    ("ride", None, r"ride|\bbell\b|\bcup\b"),
    ("cymbal", None, r"cymbal"),
    ("open_hat", "hat", r"^(?=.*(hat|\bhh\b))(?=.*(\bop(en|ened)?\b|semi|swish|free))|\bohh\b"),
    ("pedal_hat", "hat", r"^(?=.*(hat|\bhh\b))(?=.*(pedal|\bpd\b|foot))"),
    ("closed_hat", "hat", r"hat|\bhh\b"),
    ("tom", None, r"(?<![a-z])tom"),
    ("kick", "kick", r"kick|bass ?drum|\bbd\b|\bkd\b"),
    ("clap", "snare", r"clap"),
    ("rimshot", "snare", r"rim ?shot"),
    ("side_stick", "snare", r"side stick|rim click|\bstick\b"),
    ("snare", "snare", r"snare|\bsd\b"),
)
VOICES = ("kick", "snare", "hat")  # DrumLoop's voices, action bits 1, 2, 4

PACKAGES = {
    "hydrogen-data": ("GMRockKit", "TR808EmulationKit"),
    "hydrogen-drumkits": (
        "Audiophob", "BJA_Pacific", "ColomboAcousticDrumkit", "ElectricEmpireKit", "ForzeeStereo", "Gimme A Hand 1.0",
        "HardElectro1", "Millo-Drums_v.1", "Millo_MultiLayered2", "Millo_MultiLayered3", "The Black Pearl 1.0",
        "VariBreaks", "circAfrique v4", "rumpf_kit_z01_h2",
    ),
}  # fmt: skip
SPLITS = {
    # GMRockKit and TR808EmulationKit (hydrogen-data) are what the tests have; The Black Pearl shares
    # GMRockKit's samples; the Millo kits and Audiophob share its layout; two percussion-only kits
    # serve as distractors.
    "train": (
        "GMRockKit", "TR808EmulationKit", "The Black Pearl 1.0", "BJA_Pacific", "Audiophob", "Millo-Drums_v.1",
        "Millo_MultiLayered2", "Millo_MultiLayered3", "Gimme A Hand 1.0", "circAfrique v4",
    ),
    "dev": ("ElectricEmpireKit", "rumpf_kit_z01_h2"),
    "held_out": ("ForzeeStereo", "ColomboAcousticDrumkit", "HardElectro1", "VariBreaks"),  # 2 acoustic, 2 electronic
}  # fmt: skip
SYSTEM_DIR = Path("/usr/share/hydrogen/data/drumkits")


class HydrogenKitError(RaveForceError, FileNotFoundError):
    """A Hydrogen kit that is not installed or cannot be read."""


def install_command(name: str) -> str:
    """The command that installs kit `name` (its Debian package, or both when unknown)."""
    packages = [p for p, names in PACKAGES.items() if name in names] or list(PACKAGES)
    return "sudo apt-get install --no-install-recommends " + " ".join(packages)


def kit_dirs() -> list[Path]:
    """Where kits are looked for: the folders in $RAVEFORCE_HYDROGEN_KITS (separated by
    os.pathsep) when it is set, else the user's Hydrogen folder, then Debian's."""
    chosen = os.environ.get("RAVEFORCE_HYDROGEN_KITS")
    if chosen is not None:
        return [Path(p) for p in chosen.split(os.pathsep) if p]
    return [Path.home() / ".hydrogen" / "data" / "drumkits", SYSTEM_DIR]


def available() -> list[str]:
    """The names of the kits installed (folders holding a drumkit.xml), sorted."""
    found = {p.parent.name for d in kit_dirs() if d.is_dir() for p in d.glob("*/drumkit.xml")}
    return sorted(found)


def split(name: str) -> tuple[str, ...]:
    """The kit names of split `name` ("train", "dev" or "held_out")."""
    if name not in SPLITS:
        raise ArgumentError(f"split={name!r} is not one of {sorted(SPLITS)}")
    return SPLITS[name]


@dataclass(frozen=True)
class Layer:
    """One sample of an instrument: played for velocities in [low, high]."""

    path: Path
    low: float
    high: float
    gain: float = 1.0
    pitch: float = 0.0  # semitones


@dataclass(frozen=True)
class Instrument:
    """A kit piece: its name, drum role and voice (None: not kick, snare or hat), and layers."""

    name: str
    role: str
    voice: str | None
    gain: float  # the instrument's gain times its volume
    layers: tuple[Layer, ...]

    def layer(self, velocity: float) -> Layer:
        """The layer a hit at `velocity` (0..1) plays: the one whose range holds it, else the nearest."""
        if not 0.0 <= velocity <= 1.0:
            raise ArgumentError(f"velocity={velocity!r} is not in [0, 1]")
        for layer in self.layers:
            if layer.low <= velocity <= layer.high:
                return layer
        return min(self.layers, key=lambda la: min(abs(la.low - velocity), abs(la.high - velocity)))


@dataclass(frozen=True)
class SampledKit:
    """A Hydrogen kit: its name, folder, licence and playable instruments (those with samples)."""

    name: str
    folder: Path
    license: str
    author: str
    instruments: tuple[Instrument, ...]

    def instruments_of(self, voice_or_role: str) -> list[Instrument]:
        """The instruments of a voice ("kick", "snare", "hat") or of a role (`ROLES`' first column)."""
        known = set(VOICES) | {r for r, _, _ in ROLES} | {"other"}
        if voice_or_role not in known:
            raise ArgumentError(f"{voice_or_role!r} is not a voice {VOICES} or a role {sorted(known - set(VOICES))}")
        if voice_or_role in VOICES:
            return [i for i in self.instruments if i.voice == voice_or_role]
        return [i for i in self.instruments if i.role == voice_or_role]

    @property
    def distractors(self) -> list[Instrument]:
        """The instruments that are none of the three voices (toms, cymbals, percussion, ...)."""
        return [i for i in self.instruments if i.voice is None]


def role_of(name: str) -> tuple[str, str | None]:
    """(role, voice) of an instrument name by `ROLES`; ("other", None) when nothing matches."""
    lowered = name.lower()
    for role, voice, pattern in ROLES:
        if re.search(pattern, lowered):
            return role, voice
    return "other", None


def find(name: str | os.PathLike) -> Path:
    """The folder of kit `name` (a kit name, or a folder holding a drumkit.xml)."""
    as_path = Path(name)
    if (as_path / "drumkit.xml").is_file():
        return as_path
    for d in kit_dirs():
        if (d / str(name) / "drumkit.xml").is_file():
            return d / str(name)
    installed = available()
    raise HydrogenKitError(
        f"Hydrogen kit {str(name)!r} is not installed (looked in {', '.join(map(str, kit_dirs()))}); "
        f"install it with `{install_command(str(name))}`"
        + (f", or pick one of {installed}" if installed else "")
    )


def load(name: str | os.PathLike) -> SampledKit:
    """The kit `name` (see `find`), read from its drumkit.xml."""
    return _load(find(name).resolve())


@lru_cache(maxsize=32)
def _load(folder: Path) -> SampledKit:
    try:
        root = ET.parse(folder / "drumkit.xml").getroot()
    except (ET.ParseError, OSError) as exc:
        raise HydrogenKitError(f"{folder / 'drumkit.xml'} is not a readable Hydrogen drumkit.xml: {exc}") from exc
    _strip_namespaces(root)
    instruments = []
    for element in root.iter("instrument"):
        name = (element.findtext("name") or "").strip()
        layers = tuple(_layers(element, folder))
        if not name or not layers:
            continue  # an empty slot
        role, voice = role_of(name)
        gain = _number(element, "gain", 1.0) * _number(element, "volume", 1.0)
        instruments.append(Instrument(name, role, voice, gain, layers))
    if not instruments:
        raise HydrogenKitError(f"Hydrogen kit at {folder} has no instrument with a sample file")
    return SampledKit(
        name=folder.name,
        folder=folder,
        license=(root.findtext("license") or "").strip(),
        author=(root.findtext("author") or "").strip(),
        instruments=tuple(instruments),
    )


def _strip_namespaces(root: ET.Element) -> None:
    for element in root.iter():
        if "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]


def _number(element: ET.Element, tag: str, default: float) -> float:
    try:
        return float(element.findtext(tag) or default)
    except ValueError:
        return default


def _layers(instrument: ET.Element, folder: Path):
    """The instrument's layers whose files exist: inside <instrumentComponent> (Hydrogen >= 0.9.7),
    directly under <instrument> (older), or one <filename> for all velocities (oldest)."""
    found = list(instrument.iter("layer"))
    if found:
        for layer in found:
            path = folder / (layer.findtext("filename") or "").strip()
            if path.is_file() and path.stat().st_size > 0:
                yield Layer(path, _number(layer, "min", 0.0), _number(layer, "max", 1.0), _number(layer, "gain", 1.0), _number(layer, "pitch", 0.0))
        return
    filename = (instrument.findtext("filename") or "").strip()
    if filename and (folder / filename).is_file():
        yield Layer(folder / filename, 0.0, 1.0)


__all__ = [
    "PACKAGES",
    "ROLES",
    "SPLITS",
    "VOICES",
    "HydrogenKitError",
    "Instrument",
    "Layer",
    "SampledKit",
    "available",
    "find",
    "install_command",
    "kit_dirs",
    "load",
    "role_of",
    "split",
]
