"""The built-in SynthDefs, written with supriya (the `synthdefs` extra).

The environments load the compiled `.scsyndef` files shipped in `raveforce/data/synthdefs`, so
supriya is needed only to change these. `python scripts/make_data.py` compiles them again and
renders the drum kit and the default targets; the tests check the shipped files match.
"""

from __future__ import annotations

from supriya import Envelope, synthdef
from supriya.ugens import (
    BPF,
    HPF,
    RLPF,
    BHiShelf,
    BLowShelf,
    BufRateScale,
    EnvGen,
    FreeVerb,
    In,
    Line,
    OffsetOut,
    Out,
    PlayBuf,
    Pulse,
    RandID,
    RandSeed,
    Saw,
    SinOsc,
    WhiteNoise,
)

DONE_FREE_SELF = 2


# --- played by the environments -------------------------------------------------------------


@synthdef()
def drum(out=0, buf=0, amp=1.0):
    """A one-shot sample: buffer `buf` played once at its own rate, then freed."""
    rate = BufRateScale.kr(buffer_id=buf)
    sound = PlayBuf.ar(buffer_id=buf, rate=rate, done_action=DONE_FREE_SELF)
    OffsetOut.ar(bus=out, source=sound * amp)


@synthdef()
def sine_perc(out=0, freq=440.0, amp=0.5, attack=0.01, release=0.49):
    """The paper's kick imitation: a sine under a fixed percussive envelope (Env.perc)."""
    envelope = EnvGen.kr(envelope=Envelope.percussive(attack, release), done_action=DONE_FREE_SELF)
    OffsetOut.ar(bus=out, source=SinOsc.ar(frequency=freq) * envelope * amp)


# --- played by the task suite (KickMatch, FMTone, BassLine, Melody) -------------------------


@synthdef()
def kick(out=0, freq=48.0, sweep=180.0, sweep_time=0.03, attack=0.002, decay=0.45, amp=0.6):
    """The kit's kick with its parameters as controls: a sine swept exponentially from `sweep`
    to 1.25 * `freq` Hz over `sweep_time` s, then to `freq` over 0.4 s, under a percussive
    envelope (`attack`, `decay` s) that frees the synth; plus the kit's fixed 8 ms click."""
    pitch = EnvGen.ar(envelope=Envelope(amplitudes=(sweep, freq * 1.25, freq), durations=(sweep_time, 0.4), curves=("exponential", "exponential")))
    envelope = EnvGen.ar(envelope=Envelope.percussive(attack, decay), done_action=DONE_FREE_SELF)
    body = SinOsc.ar(frequency=pitch) * envelope
    click = SinOsc.ar(frequency=1200) * EnvGen.ar(envelope=Envelope.percussive(0.0005, 0.008)) * 0.3
    OffsetOut.ar(bus=out, source=(body + click) * amp)


@synthdef()
def fm(out=0, freq=220.0, carrier=1.0, modulator=1.0, index=1.0, attack=0.01, decay=0.5, amp=0.3):
    """Two-operator FM: a sine at `carrier * freq` Hz phase-modulated by a sine at
    `modulator * freq` Hz with modulation index `index` (radians), under a percussive envelope."""
    modulation = SinOsc.ar(frequency=modulator * freq) * index
    envelope = EnvGen.ar(envelope=Envelope.percussive(attack, decay), done_action=DONE_FREE_SELF)
    OffsetOut.ar(bus=out, source=SinOsc.ar(frequency=carrier * freq, phase=modulation) * envelope * amp)


@synthdef()
def bass(out=0, freq=55.0, cutoff=800.0, rq=0.3, attack=0.003, decay=0.2, amp=0.25):
    """A saw bass through a resonant low-pass (RLPF at `cutoff` Hz, 1/Q `rq`), plucked envelope."""
    envelope = EnvGen.ar(envelope=Envelope.percussive(attack, decay), done_action=DONE_FREE_SELF)
    tone = RLPF.ar(source=Saw.ar(frequency=freq), frequency=cutoff, reciprocal_of_q=rq)
    OffsetOut.ar(bus=out, source=tone * envelope * amp)


@synthdef()
def voice(out=0, freq=440.0, attack=0.01, decay=0.3, amp=0.3):
    """A simple voice: a sine with soft 2nd and 3rd harmonics under a percussive envelope."""
    tone = SinOsc.ar(frequency=freq) + SinOsc.ar(frequency=2 * freq) * 0.3 + SinOsc.ar(frequency=3 * freq) * 0.1
    envelope = EnvGen.ar(envelope=Envelope.percussive(attack, decay), done_action=DONE_FREE_SELF)
    OffsetOut.ar(bus=out, source=tone * envelope * amp)


# --- used once to synthesise the shipped drum kit -------------------------------------------


@synthdef()
def kit_kick(out=0, amp=0.6):
    """Kick: a sine swept from 180 Hz down to 48 Hz under a 0.45 s decay, plus a short click."""
    pitch = EnvGen.ar(envelope=Envelope(amplitudes=(180, 60, 48), durations=(0.03, 0.4), curves=("exponential", "exponential")))
    body = SinOsc.ar(frequency=pitch) * EnvGen.ar(envelope=Envelope.percussive(0.002, 0.45))
    click = SinOsc.ar(frequency=1200) * EnvGen.ar(envelope=Envelope.percussive(0.0005, 0.008)) * 0.3
    OffsetOut.ar(bus=out, source=(body + click) * amp)


@synthdef()
def kit_snare(out=0, amp=0.45):
    """Snare: band-passed noise (seeded) over a 185 Hz body."""
    RandSeed.ir(trigger=1, seed=1979)
    noise = BPF.ar(source=WhiteNoise.ar(), frequency=1800, reciprocal_of_q=0.8)
    noise = noise * EnvGen.ar(envelope=Envelope.percussive(0.001, 0.18)) * 1.6
    body = SinOsc.ar(frequency=185) * EnvGen.ar(envelope=Envelope.percussive(0.001, 0.08)) * 0.7
    OffsetOut.ar(bus=out, source=(noise + body) * amp)


@synthdef()
def kit_hat(out=0, amp=0.3):
    """Closed hi-hat: high-passed noise (seeded), 50 ms decay."""
    RandSeed.ir(trigger=1, seed=2019)
    noise = HPF.ar(source=WhiteNoise.ar(), frequency=7000)
    OffsetOut.ar(bus=out, source=noise * EnvGen.ar(envelope=Envelope.percussive(0.001, 0.05)) * amp)


# --- the kit family (raveforce.kits): drums of many machines, drawn from a seed ------------------


@synthdef()
def fam_kick(out=0, amp=0.6, freq=50.0, sweep=4.0, sweep_time=0.03, decay=0.4, click=0.2, click_freq=1500.0, drive=1.0):
    """A kick: a sine swept exponentially from `sweep` * `freq` to `freq` Hz in `sweep_time` s,
    under a percussive envelope (1 ms attack, `decay` s), through tanh(`drive` * x) (1: clean),
    plus a 6 ms click (a sine at `click_freq` Hz of level `click`)."""
    pitch = EnvGen.ar(envelope=Envelope(amplitudes=(freq * sweep, freq), durations=(sweep_time,), curves=("exponential",)))
    envelope = EnvGen.ar(envelope=Envelope.percussive(0.001, decay), done_action=DONE_FREE_SELF)
    body = (SinOsc.ar(frequency=pitch) * envelope * drive).tanh()
    tick = SinOsc.ar(frequency=click_freq) * EnvGen.ar(envelope=Envelope.percussive(0.0005, 0.006)) * click
    OffsetOut.ar(bus=out, source=(body + tick) * amp)


@synthdef()
def fam_snare(
    out=0, amp=0.45, tone=185.0, tone_decay=0.08, tone_level=0.7,
    noise_freq=1800.0, noise_rq=0.8, noise_decay=0.18, noise_level=1.0, rim=0.0, seed=1979, rng=1,
):  # fmt: skip
    """A snare: a sine body at `tone` Hz (`tone_decay` s, level `tone_level`) and white noise
    band-passed at `noise_freq` Hz (1/Q `noise_rq`, `noise_decay` s, level `noise_level`),
    seeded by `seed` in scsynth's random generator number `rng` (synths sounding together need
    their own: they draw from it in turn); `rim` adds a 12 ms rim-like click at 4.1 * `tone` Hz."""
    RandID.ir(rand_id=rng)
    RandSeed.ir(trigger=1, seed=seed)
    Line.kr(start=0, stop=0, duration=tone_decay + noise_decay + 0.02, done_action=DONE_FREE_SELF)
    noise = BPF.ar(source=WhiteNoise.ar(), frequency=noise_freq, reciprocal_of_q=noise_rq)
    noise = noise * EnvGen.ar(envelope=Envelope.percussive(0.001, noise_decay)) * noise_level * 1.6
    body = SinOsc.ar(frequency=tone) * EnvGen.ar(envelope=Envelope.percussive(0.001, tone_decay)) * tone_level
    knock = SinOsc.ar(frequency=tone * 4.1) * EnvGen.ar(envelope=Envelope.percussive(0.0005, 0.012)) * rim
    OffsetOut.ar(bus=out, source=(noise + body + knock) * amp)


HAT_BANK = (205.3, 304.4, 369.6, 522.7, 540.0, 800.0)  # Hz: a TR-808's six square oscillators


@synthdef()
def fam_hat(out=0, amp=0.3, cutoff=7000.0, decay=0.05, metal=0.0, base=1.0, seed=2019, rng=2):
    """A hi-hat: white noise (seeded by `seed` in random generator `rng`, as the snare's) mixed with a bank of six squares (`HAT_BANK` Hz
    times `base`) in the ratio 1 - `metal` : `metal`, high-passed at `cutoff` Hz, `decay` s."""
    RandID.ir(rand_id=rng)
    RandSeed.ir(trigger=1, seed=seed)
    bank = sum(Pulse.ar(frequency=f * base) for f in HAT_BANK) * 1.5  # about the noise's level past the HPF
    source = WhiteNoise.ar() * (1 - metal) + bank * metal
    envelope = EnvGen.ar(envelope=Envelope.percussive(0.001, decay), done_action=DONE_FREE_SELF)
    OffsetOut.ar(bus=out, source=HPF.ar(source=source, frequency=cutoff) * envelope * amp)


@synthdef()
def fam_room(out=0, source_bus=64, mix=0.1, room=0.5, damp=0.5, tilt=0.0):
    """The rendition's room and EQ: reads bus `source_bus`, a FreeVerb (`mix`, `room`, `damp`),
    then a spectral tilt of `tilt` dB (+tilt/2 above 1 kHz, -tilt/2 below), to bus `out`."""
    wet = FreeVerb.ar(source=In.ar(bus=source_bus), mix=mix, room_size=room, damping=damp)
    tilted = BLowShelf.ar(source=BHiShelf.ar(source=wet, frequency=1000, gain=tilt * 0.5), frequency=1000, gain=tilt * -0.5)
    Out.ar(bus=out, source=tilted)


@synthdef()
def fam_tom(out=0, amp=0.4, freq=120.0, sweep=1.5, sweep_time=0.05, decay=0.4, overtone=0.15, noise=0.25, seed=1986, rng=3):
    """A tom: a sine swept exponentially from `sweep` * `freq` to `freq` Hz in `sweep_time` s under a
    percussive envelope (1 ms attack, `decay` s), plus its membrane's second mode (1.59 times the
    pitch, level `overtone`, `decay` / 2 s) and a 20 ms stick attack: white noise high-passed at
    1 kHz, level `noise`, seeded by `seed` in random generator `rng` (as the snare's)."""
    RandID.ir(rand_id=rng)
    RandSeed.ir(trigger=1, seed=seed)
    pitch = EnvGen.ar(envelope=Envelope(amplitudes=(freq * sweep, freq), durations=(sweep_time,), curves=("exponential",)))
    envelope = EnvGen.ar(envelope=Envelope.percussive(0.001, decay), done_action=DONE_FREE_SELF)
    mode = SinOsc.ar(frequency=pitch * 1.59) * EnvGen.ar(envelope=Envelope.percussive(0.001, decay * 0.5)) * overtone
    stick = HPF.ar(source=WhiteNoise.ar(), frequency=1000) * EnvGen.ar(envelope=Envelope.percussive(0.0005, 0.02)) * noise
    OffsetOut.ar(bus=out, source=(SinOsc.ar(frequency=pitch) * envelope + mode + stick) * amp)


@synthdef()
def fam_clap(out=0, amp=0.5, freq=1200.0, rq=0.6, spread=0.01, decay=0.2, seed=1987, rng=4):
    """A hand clap: white noise (seeded by `seed` in random generator `rng`, as the snare's)
    band-passed at `freq` Hz (1/Q `rq`), under four hits (0.5 ms attacks) `spread` s (> 0.5 ms) apart:
    three bursts that die before the next, the last decaying over `decay` s (the tail)."""
    RandID.ir(rand_id=rng)
    RandSeed.ir(trigger=1, seed=seed)
    burst = (0.0005, spread - 0.0005)
    hits = Envelope(amplitudes=(0, 1, 0, 1, 0, 1, 0, 1, 0), durations=(*burst, *burst, *burst, 0.0005, decay), curves=("linear", -4.0))
    envelope = EnvGen.ar(envelope=hits, done_action=DONE_FREE_SELF)
    noise = BPF.ar(source=WhiteNoise.ar(), frequency=freq, reciprocal_of_q=rq) * 3  # a peak near 1 at rq 0.6
    OffsetOut.ar(bus=out, source=noise * envelope * amp)


@synthdef()
def fam_cymbal(
    out=0, amp=0.3, cutoff=4000.0, attack=0.002, decay=1.8, metal=0.4, base=1.5,
    ping=0.0, ping_freq=1300.0, ping_decay=0.5, seed=1988, rng=5,
):  # fmt: skip
    """A crash or ride: white noise (seeded by `seed` in random generator `rng`, as the snare's)
    mixed with the hat's six squares (`HAT_BANK` Hz times `base`) in the ratio 1 - `metal` : `metal`,
    high-passed at `cutoff` Hz, under an envelope of `attack` s and `decay` s; plus the ride's bell:
    a sine at `ping_freq` Hz of level `ping` (0: a crash), 1 ms attack, `ping_decay` s (< `decay`)."""
    RandID.ir(rand_id=rng)
    RandSeed.ir(trigger=1, seed=seed)
    bank = sum(Pulse.ar(frequency=f * base) for f in HAT_BANK) * 1.5
    source = WhiteNoise.ar() * (1 - metal) + bank * metal
    envelope = EnvGen.ar(envelope=Envelope.percussive(attack, decay), done_action=DONE_FREE_SELF)
    bell = SinOsc.ar(frequency=ping_freq) * EnvGen.ar(envelope=Envelope.percussive(0.001, ping_decay)) * ping
    OffsetOut.ar(bus=out, source=(HPF.ar(source=source, frequency=cutoff) * envelope + bell) * amp)


FAMILY = (fam_kick, fam_snare, fam_hat, fam_room, fam_tom, fam_clap, fam_cymbal)
PLAYED = (drum, sine_perc, kick, fm, bass, voice, *FAMILY)
KIT = {  # name: (synth, seconds, controls)
    "kick": (kit_kick, 0.5, {}),
    "snare": (kit_snare, 0.3, {}),
    "hat": (kit_hat, 0.1, {}),
    "clap": (fam_clap, 0.35, {"amp": 0.5, "freq": 1200.0, "rq": 0.6, "spread": 0.01, "decay": 0.2, "seed": 1987.0, "rng": 3.0}),
    "open_hat": (fam_hat, 0.5, {"amp": 0.3, "cutoff": 7000.0, "decay": 0.4, "metal": 0.2, "base": 1.0, "seed": 2023.0, "rng": 4.0}),
    "low_tom": (fam_tom, 0.6, {"amp": 0.4, "freq": 90.0, "sweep": 1.5, "sweep_time": 0.06, "decay": 0.5, "overtone": 0.15, "noise": 0.25, "seed": 1986.0, "rng": 5.0}),
    "mid_tom": (fam_tom, 0.5, {"amp": 0.4, "freq": 135.0, "sweep": 1.5, "sweep_time": 0.05, "decay": 0.4, "overtone": 0.15, "noise": 0.25, "seed": 1990.0, "rng": 6.0}),
    "high_tom": (fam_tom, 0.4, {"amp": 0.4, "freq": 195.0, "sweep": 1.5, "sweep_time": 0.04, "decay": 0.3, "overtone": 0.15, "noise": 0.25, "seed": 1994.0, "rng": 7.0}),
    "crash": (fam_cymbal, 2.5, {"amp": 0.35, "cutoff": 3500.0, "attack": 0.003, "decay": 2.2, "metal": 0.3, "base": 1.45, "ping": 0.0, "seed": 1988.0, "rng": 8.0}),
    "ride": (fam_cymbal, 1.4, {"amp": 0.3, "cutoff": 5500.0, "attack": 0.001, "decay": 1.2, "metal": 0.6, "base": 2.1, "ping": 0.3, "ping_freq": 1300.0, "ping_decay": 0.5, "seed": 1998.0, "rng": 9.0}),
}  # fmt: skip


def render_kit_sound(name: str, sample_rate: int = 44100):
    """float32 (n,): one drum of the kit, rendered by a fresh scsynth."""
    from raveforce.synth import osc
    from raveforce.synth.scsynth import BlockClock, render_nrt

    synth, seconds, controls = KIT[name]
    pairs = [x for control, value in controls.items() for x in (control, float(value))]
    score = [
        (0, [osc.message("/d_recv", synth.compile())]),
        (BlockClock(sample_rate).tag(0), [osc.message("/s_new", synth.name, -1, 0, 0, *pairs)]),
    ]
    return render_nrt(score, sample_rate=sample_rate, channels=1, frames=round(seconds * sample_rate))[:, 0]
