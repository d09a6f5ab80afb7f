"""The shipped answer models: they load, match their manifest, and training is repeatable."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest

from chat.features import FEATURES
from chat.selector import MANIFEST_FILE, MODELS_DIR, ModelFileError, load_models
from eval.train import Run, train


def test_the_shipped_models_load_and_match_their_manifest():
    models = load_models(MODELS_DIR)
    manifest = models.manifest
    assert tuple(manifest["features"]) == FEATURES
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((MODELS_DIR / name).read_bytes()).hexdigest() == digest
    assert manifest["selector"]["kind"] in ("lightgbm", "logistic", "lambdarank")
    assert 0 < models.threshold < 1
    assert manifest["refusal"]["false_refusals"] <= manifest["refusal"]["max_false_refusals"] + 0.01
    # trained on the fixed training data only: never the CMRC test half nor a held-out set
    assert set(manifest["data"]["counts"]) == {"cmrc-trial", "cmrc-dev-train", "report-dev"}
    X = np.zeros((2, len(FEATURES)), dtype=np.float32)
    probs = models.selector.predict(X)
    assert probs.shape == (2,) and np.all((0 <= probs) & (probs <= 1))


def test_a_changed_model_file_is_refused(tmp_path):
    folder = tmp_path / "models"
    shutil.copytree(MODELS_DIR, folder)
    name = next(iter(json.loads((folder / MANIFEST_FILE).read_text())["files"]))
    data = bytearray((folder / name).read_bytes())
    data[len(data) // 2] ^= 1
    (folder / name).write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="does not match its manifest"):
        load_models(folder)


def test_a_missing_manifest_says_to_train(tmp_path):
    with pytest.raises(ModelFileError, match="make train"):
        load_models(tmp_path)


def _runs(seed: int = 7) -> list[Run]:
    """Synthetic runs (not real questions): the answer sits where feature 0 is highest."""
    rng = np.random.default_rng(seed)
    runs = []
    for q in range(120):
        X = rng.normal(size=(6, len(FEATURES))).astype(np.float32)
        y = np.zeros(6, dtype=np.int8)
        if q % 4:
            y[int(np.argmax(X[:, 0]))] = 1
        runs.append(Run(f"q{q}", "cmrc-trial", "normal", bool(q % 4), X, y, (0.5, 0.5, 0.0, 0.9, 0.0), 4, "zh"))
    return runs


def test_training_is_deterministic_and_learns(tmp_path):
    first = train(_runs(), tmp_path / "a", log=lambda *_: None)
    second = train(_runs(), tmp_path / "b", log=lambda *_: None)
    assert first["files"] == second["files"]  # the same bytes, file by file
    assert first["selector"]["cv_top1"][first["selector"]["kind"]] > 0.6  # far above chance (1 in 6)
    assert load_models(tmp_path / "a").threshold == first["refusal"]["threshold"]
