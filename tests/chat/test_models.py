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
    assert manifest["refusal"]["refused_right"] <= manifest["refusal"]["max_refused_right"] + 0.01
    # trained on the fixed training data only: never the CMRC test half nor a held-out or blind set
    assert set(manifest["data"]["counts"]) == {"cmrc-trial", "cmrc-dev-train", "report-dev", "gen1", "gen2", "gen3", "gen4", "gen5", "gen6", "gen7", "gen8"}
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


def test_a_refusal_model_trained_on_other_question_features_is_refused(tmp_path):
    folder = tmp_path / "models"
    shutil.copytree(MODELS_DIR, folder)
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    manifest["refusal_features"] = manifest["refusal_features"][:-1]  # a model that read one input fewer
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="refusal model was trained on other features"):
        load_models(folder)


def test_a_refusal_blend_trained_on_another_chosen_row_is_refused(tmp_path):
    folder = tmp_path / "models"
    shutil.copytree(MODELS_DIR, folder)
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    manifest["refusal"]["kind"] = "blend"
    manifest["chosen_features"] = manifest["features"][:-1]  # the chosen sentence's row, one feature short
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="refusal model was trained on other features"):
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


def _run(qid: str, dataset: str, lang: str = "zh", answerable: bool = True) -> Run:
    return Run(qid, dataset, "normal", answerable, np.zeros((1, len(FEATURES)), dtype=np.float32),
               np.asarray([int(answerable)], dtype=np.int8), (0.5, 0.5, 0.0, 0.9, 0.0), 4, lang)


def test_the_threshold_refuses_five_percent_of_the_right_answers_and_ignores_the_wrong_ones():
    from eval.train import pick_threshold

    rng = np.random.default_rng(0)
    p = np.concatenate([rng.uniform(0.2, 1.0, 400), rng.uniform(0.0, 0.2, 200)])  # right, then wrong answers
    right = np.arange(600) < 400
    t = pick_threshold(p, right)
    assert 0.2 < t < 0.3 and abs((p[right] < t).mean() - 0.05) < 0.02
    assert pick_threshold(p, np.ones(600, dtype=bool)) < 0.1  # counting the wrong answers would hold it down


def test_each_domain_and_english_get_their_own_threshold_and_the_lowest_chinese_one_rules():
    from eval.train import domain_of, thresholds

    assert domain_of("gen3") == domain_of("gen7") == "documents" and domain_of("report-dev") == "report-dev"
    runs = ([_run(f"c{i}", "cmrc-trial") for i in range(100)] + [_run(f"g{i}", f"gen{1 + i % 8}") for i in range(100)]
            + [_run(f"e{i}", "report-dev", lang="en") for i in range(40)])
    p = np.concatenate([np.linspace(0.3, 1.0, 100), np.linspace(0.1, 1.0, 100), np.linspace(0.01, 1.0, 40)])
    t = thresholds(runs, p, np.ones(len(runs), dtype=bool))
    assert set(t.by_domain) == {"cmrc-trial", "documents", "english"}
    assert t.low == t.by_domain["documents"] < t.by_domain["cmrc-trial"] == t.high
    assert t.en == t.by_domain["english"] < t.low


def test_an_english_question_is_held_to_the_english_threshold(tmp_path):
    models = load_models(MODELS_DIR)
    assert models.limit("zh") == models.threshold
    assert models.limit("en") == models.manifest["refusal"]["threshold_en"]


def test_features_collected_by_other_code_are_a_clear_error(tmp_path):
    """A features cache whose feature list is not this code's is refused by name, not read wrong."""
    import numpy as np

    from chat.features import FEATURES
    from eval.train import Run, StaleFeaturesError, load_runs, save_runs

    path = tmp_path / "features.npz"
    run = Run("q1", "report-dev", "normal", True, np.zeros((2, len(FEATURES)), np.float32),
              np.asarray([1, 0], np.int8), (0.5, 0.5, 0.0, 0.8, 0.0), 3, "zh")
    save_runs([run], path)
    assert [r.qid for r in load_runs(path)] == ["q1"]
    data = dict(np.load(path, allow_pickle=False))
    data["features"] = np.asarray(list(data["features"])[:-1])  # one feature fewer than this code computes
    np.savez_compressed(path, **data)
    with pytest.raises(StaleFeaturesError, match="other features"):
        load_runs(path)
