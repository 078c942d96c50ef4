"""What a `raveforce solve` or `train` leaves in its output directory for people to look at and
listen to: `report.png` (spectrograms and rewards, needs matplotlib) and `index.html` (one
self-contained page: audio players, the pictures, the pattern as a step grid, rewards per step).
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from raveforce._optional import pyplot
from raveforce.task import Choices, MultiChoices, Task


def spectrogram(audio: np.ndarray, sample_rate: int, *, n_fft: int = 1024, hop: int = 256) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dB float (n_fft // 2 + 1, frames) re full scale, times s (frames,), frequencies Hz (bins,))."""
    x = np.pad(np.asarray(audio, np.float64), (n_fft // 2, n_fft // 2))
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop]
    magnitude = np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1)).T * (2 / n_fft * 2)
    db = 20 * np.log10(np.maximum(magnitude, 1e-5))
    return db, np.arange(frames.shape[0]) * hop / sample_rate, np.fft.rfftfreq(n_fft, 1 / sample_rate)


def report_png(
    path: str | os.PathLike,
    *,
    task: Task,
    target: np.ndarray,
    result: np.ndarray,
    rewards: Sequence[float],
    title: str,
    silence: Sequence[float] | None = None,
    search: tuple[Sequence[float], Sequence[float], float] | None = None,
    curve: Sequence[float] | None = None,
) -> Path:
    """Target and result spectrograms (log frequency, step boundaries dashed) and the reward of
    every step, beside `silence` (the reward of each step had nothing been played), for scale.

    search: (frequencies Hz, rewards, chosen Hz) of what a one-step search tried, plotted
    instead of the per-step bars. curve: training episode returns, plotted below.
    """
    plt = pyplot()
    rows = 3 + (curve is not None)
    fig, axes = plt.subplots(rows, 1, figsize=(9, 2.6 * rows), constrained_layout=True)
    top = min(task.sample_rate / 2, 11025)
    for ax, audio, name in ((axes[0], target, "target"), (axes[1], result, "result")):
        db, times, freqs = spectrogram(audio, task.sample_rate)
        keep = (freqs >= 20) & (freqs <= top)
        mesh = ax.pcolormesh(times, freqs[keep], db[keep], shading="auto", cmap="magma", vmin=-90, vmax=0)
        ax.set_yscale("log")
        for b in task.boundaries[1:-1]:
            ax.axvline(b / task.sample_rate, color="white", lw=0.5, ls="--", alpha=0.5)
        ax.set_title(f"{name} spectrogram")
        ax.set_ylabel("Hz")
        fig.colorbar(mesh, ax=ax, label="dB")
    axes[1].set_xlabel("seconds")
    ax = axes[2]
    if search is not None:
        xs, rs, chosen = search
        ax.semilogx(xs, rs, ".", ms=3, color="tab:blue", label="tried")
        ax.axvline(chosen, color="tab:green", label=f"chosen {chosen:.1f} Hz")
        ax.set_xlabel("frequency (Hz)")
        ax.set_ylabel("reward")
        ax.legend(loc="lower right")
        ax.set_title("reward of every action tried")
    else:
        steps = np.arange(1, len(rewards) + 1)
        if silence is not None:
            ax.bar(steps - 0.2, silence, 0.4, color="0.75", label="silence")
            ax.bar(steps + 0.2, rewards, 0.4, color="tab:green", label="result")
            ax.legend(loc="lower left")
        else:
            ax.bar(steps, rewards, color="tab:green")
        ax.set_xticks(steps)
        ax.set_xlabel("step")
        ax.set_ylabel("reward")
        ax.set_title(f"reward per step (total {sum(rewards):.4g}; 0 is a perfect match)")
    if curve is not None:
        axes[3].plot(np.arange(1, len(curve) + 1), curve, color="tab:purple")
        axes[3].set_xlabel("training episode")
        axes[3].set_ylabel("return")
        axes[3].set_title("training curve")
    fig.suptitle(title)
    path = Path(path)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def silence_rewards(task: Task, *, target: np.ndarray, reward) -> list[float]:
    """The reward of every step of an episode in which nothing sounds (zeros), float per step."""
    from raveforce import rewards

    criterion = rewards.make(reward, target=target, sample_rate=task.sample_rate, boundaries=task.boundaries)
    zeros = np.zeros(task.total_samples, np.float32)
    return [0.0 - float(criterion.distance(zeros, k)) for k in range(task.steps)]


def note_label(note) -> str:
    """A row name for a note: the kit's drum for the drum synth, else synth(controls)."""
    from raveforce.tasks import KIT

    controls = dict(note.controls)
    if note.synth == "drum" and int(controls.get("buf", -1)) in range(len(KIT)):
        return KIT[int(controls["buf"])]
    if note.synth.startswith("fam_"):  # a calibrated kit's voice (raveforce.kits)
        return note.synth.removeprefix("fam_")
    return note.synth + "(" + ", ".join(f"{k}={v:g}" for k, v in note.controls) + ")"


def step_grid(task: Task, actions: Sequence) -> list[tuple[str, list[bool]]]:
    """The pattern as rows (note label, played at each step), for discrete tasks; else []."""
    if isinstance(task.actions, MultiChoices):  # a row per part (a DrumKit voice), on at any level
        from raveforce.tasks import FULL_KIT

        parts = task.actions.parts
        labels = FULL_KIT if len(parts) == len(FULL_KIT) else [f"part {i}" for i in range(len(parts))]
        picks = np.asarray(actions, dtype=np.int64).reshape(len(actions), len(parts))
        return [(labels[i], [bool(p) for p in picks[:, i]]) for i in range(len(parts))][::-1]
    if not isinstance(task.actions, Choices):
        return []
    notes = list(dict.fromkeys(task.actions.candidates))
    rows = [(note_label(n), [n in task.actions.notes(a) for a in actions]) for n in notes]
    return rows[::-1]  # hats on top, kick at the bottom, as on a drum machine


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }}
.players {{ display: flex; gap: 2rem; flex-wrap: wrap; }}
figure {{ margin: 0 0 1rem 0; }}
table.grid {{ border-collapse: collapse; margin: 1rem 0; }}
table.grid td, table.grid th {{ border: 1px solid #ccc; width: 2.2rem; height: 1.6rem; text-align: center; font-size: 0.8rem; }}
table.grid td.on {{ background: #2a9d4b; }}
table.grid th.row {{ width: auto; padding: 0 0.5rem; text-align: right; }}
table.grid tr.reward td {{ font-size: 0.65rem; }}
img {{ max-width: 100%; }}
#audio-status {{ color: #666; font-size: 0.8rem; }}
</style></head>
<body>
<h1>{title}</h1>
<p>{summary}</p>
<div class="players">
<figure><figcaption>Target</figcaption><audio id="audio-target" controls preload="auto" src="{target}"></audio></figure>
<figure><figcaption>Result</figcaption><audio id="audio-result" controls preload="auto" src="{result}"></audio></figure>
</div>
{grid}
{images}
{extra}
<details><summary>result.json</summary><pre>{result_json}</pre></details>
<ul id="audio-status"></ul>
<script>
for (const audio of document.querySelectorAll("audio")) {{
  const note = (state) => {{
    const li = document.createElement("li");
    li.className = state;
    li.dataset.audio = audio.id;
    li.textContent = audio.id + ": " + state + (state === "loaded" ? " (" + audio.duration.toFixed(3) + " s)" : "");
    document.getElementById("audio-status").append(li);
  }};
  if (audio.readyState >= 1) note("loaded");
  else {{
    audio.addEventListener("loadedmetadata", () => note("loaded"));
    audio.addEventListener("error", () => note("failed"));
  }}
}}
</script>
</body></html>
"""


def write_html(
    folder: str | os.PathLike,
    *,
    title: str,
    summary: str,
    task: Task,
    actions: Sequence,
    rewards: Sequence[float],
    result: dict,
    target_wav: str = "target.wav",
    result_wav: str = "best.wav",
    images: Sequence[str] = ("report.png",),
    links: Sequence[str] = (),
) -> Path:
    """Write `folder/index.html`; every link is a file name relative to `folder`."""
    esc = html.escape
    rows = step_grid(task, actions)
    if rows:
        head = "<tr><th class='row'>step</th>" + "".join(f"<th>{k + 1}</th>" for k in range(len(actions))) + "</tr>"
        body = "".join(
            f"<tr><th class='row'>{esc(label)}</th>" + "".join(f"<td class='{'on' if on else 'off'}'></td>" for on in cells) + "</tr>"
            for label, cells in rows
        )
        reward_row = "<tr class='reward'><th class='row'>reward</th>" + "".join(f"<td>{r:.3g}</td>" for r in rewards) + "</tr>"
        actions_row = "<tr><th class='row'>action</th>" + "".join(f"<td>{esc(str(a))}</td>" for a in actions) + "</tr>"
        grid = f"<h2>Pattern</h2><table class='grid'>{head}{body}{actions_row}{reward_row}</table>"
    else:
        grid = "<h2>Actions and rewards</h2><table class='grid'><tr><th class='row'>step</th><th class='row'>action</th><th class='row'>reward</th></tr>" + "".join(
            f"<tr><td>{k + 1}</td><td>{esc(json.dumps(np.asarray(a).tolist()))}</td><td>{r:.6g}</td></tr>" for k, (a, r) in enumerate(zip(actions, rewards))
        ) + "</table>"
    pictures = "".join(f"<figure><img src='{esc(name)}' alt='{esc(name)}'></figure>" for name in images)
    extra = ("<h2>Files</h2><ul>" + "".join(f"<li><a href='{esc(n)}'>{esc(n)}</a></li>" for n in links) + "</ul>") if links else ""
    page = PAGE.format(
        title=esc(title),
        summary=esc(summary),
        target=esc(target_wav),
        result=esc(result_wav),
        grid=grid,
        images=pictures,
        extra=extra,
        result_json=esc(json.dumps(result, indent=2)),
    )
    path = Path(folder) / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


__all__ = ["note_label", "report_png", "silence_rewards", "spectrogram", "step_grid", "write_html"]
