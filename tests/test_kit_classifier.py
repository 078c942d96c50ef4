"""The full-kit classifier's numpy inference is its torch network's, and its transcription is a grid of levels."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from raveforce.tasks import DRUM_KIT, FULL_KIT, drum_kit_task
from raveforce.transcribe import kit_classifier
from raveforce.transcribe.targets import mix_grids

needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed (the sb3 extra)")
SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def trained_at_random():
    import torch

    sys.path.insert(0, str(SCRIPTS))
    from train_hit_classifier import network

    torch.manual_seed(0)
    pools = [(1, 2), (2, 2)]
    net = network(torch, pools, 32, outputs=2 * len(FULL_KIT), level=True)
    net.eval()
    return net, kit_classifier.KitClassifier({k: v.detach().numpy() for k, v in net.state_dict().items()}, pools)


@needs_torch
def test_numpy_inference_is_the_torch_network():
    import torch

    net, model = trained_at_random()
    grid = np.zeros((16, 10), np.int64)
    grid[::4, 0], grid[4::8, 1], grid[::2, 3] = 3, 2, 1
    windows, levels = kit_classifier.step_inputs(mix_grids(DRUM_KIT, [grid])[0], DRUM_KIT)
    assert windows.shape == (16, 22, 64) and levels.shape == (16,) and 0 < levels.min() <= levels.max() <= 1
    with torch.no_grad():
        expected = torch.sigmoid(net(torch.from_numpy(windows), torch.from_numpy(levels))).numpy()
    p, v = model.outputs(windows, levels)
    assert p.shape == v.shape == (16, len(FULL_KIT))
    np.testing.assert_allclose(np.concatenate([p, v], axis=1), expected, atol=1e-5)


@needs_torch
def test_transcription_is_levels_of_the_task(tmp_path):
    import json

    _, model = trained_at_random()
    task = drum_kit_task(velocity_levels=7)
    audio = mix_grids(task, [np.full((16, 10), 4)])[0]
    grid = kit_classifier.transcribe(audio, task, model)
    assert grid.shape == (16, 10) and grid.dtype == np.int64 and grid.min() >= 0 and grid.max() <= 7
    np.savez(tmp_path / "m.npz", header=np.array(json.dumps({"format": kit_classifier.FORMAT, "pools": [[1, 2], [2, 2]]})), **model.w)
    assert np.array_equal(kit_classifier.transcribe(audio, task, kit_classifier.KitClassifier.load(tmp_path / "m.npz")), grid)
    (tmp_path / "bad.npz").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="is not a readable kit classifier"):
        kit_classifier.KitClassifier.load(tmp_path / "bad.npz")
