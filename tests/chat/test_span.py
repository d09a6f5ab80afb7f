"""The short-answer span ranker (chat.span): its candidates, the shipped model, and training."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest

from chat.frame import frame_of
from chat.question import Question, answer_type
from chat.span import (
    SPAN_FEATURES, SPAN_FILE, SPAN_MANIFEST, MODELS_DIR, SpanModelError, load_span_model, sentence_tokens,
    span_candidates, span_features,
)
from eval.train_span import Group, load_groups, save_groups, train


def _question(text: str, weights: dict[str, float]) -> Question:
    return Question(text=text, lang="zh", standalone=text, focus=text, weights=weights,
                    asked=answer_type(text, "zh"), frame=frame_of(text))


def test_candidates_stay_inside_a_clause_and_keep_titles_whole():
    text = "这部电影名为《流浪地球》，改编自刘慈欣的同名小说。"
    spans = span_candidates(sentence_tokens(text, 0, len(text)))
    bodies = [text[s.start:s.end] for s in spans]
    assert "《流浪地球》" in bodies
    assert "这部电影名为《流浪地球》" in bodies  # the whole clause
    assert not any("，" in b or "。" in b for b in bodies)
    assert not any(b[0] in "，。》" for b in bodies)


def test_a_long_clause_gives_its_tail_after_the_copula():
    text = "长城的主体是明朝时期修建的一道由砖石和夯土筑成的绵延万里的军事防御工程。"
    tokens = sentence_tokens(text, 0, len(text))
    tails = [s for s in span_candidates(tokens) if s.kind == "tail"]
    assert tails and all(tokens[s.first - 1].word == "是" for s in tails)
    assert text[tails[0].start:tails[0].end].endswith("军事防御工程")
    assert tails[0].last - tails[0].first + 1 > 8  # longer than any token run


def test_features_tell_the_answer_from_the_question_words():
    q = _question("这座大桥是由哪家公司设计的？", {"大桥": 3.0, "设计": 2.0})
    text = "这座大桥由中铁大桥勘测设计院设计，于2018年建成通车。"
    tokens = sentence_tokens(text, 0, len(text))
    spans = span_candidates(tokens)
    X = span_features(q, text, tokens, spans)
    col = {name: i for i, name in enumerate(SPAN_FEATURES)}
    by_body = {text[s.start:s.end]: X[i] for i, s in enumerate(spans)}
    answer, repeat = by_body["中铁大桥勘测设计院"], by_body["这座大桥"]
    assert answer[col["prev_left"]] == 1 and answer[col["next_right"]] == 1  # 由 … 设计, as in the question
    assert repeat[col["q_chars"]] > answer[col["q_chars"]]
    assert answer[col["org"]] == 1


@pytest.mark.parametrize(
    ("question", "weights", "sentence", "expected"),
    [
        ("这座大桥是由哪家公司设计的？", {"大桥": 3.0, "设计": 2.0}, "这座大桥由中铁大桥勘测设计院设计，于2018年建成通车。",
         "中铁大桥勘测设计院"),
        ("谁主持了这次会议？", {"主持": 3.0, "会议": 2.0}, "会议由市委书记张建国主持，市长李明作了讲话。", "张建国"),
        ("这部电影叫什么名字？", {"电影": 3.0, "名字": 2.0}, "2019年上映的这部电影名为《流浪地球》，改编自刘慈欣的小说。",
         "《流浪地球》"),
        ("长江全长多少公里？", {"长江": 3.0, "全长": 2.0}, "长江是中国第一大河，全长约6300公里，流经11个省级行政区。",
         "6300公里"),
    ],
)
def test_the_shipped_model_picks_the_asked_for_span_of_new_sentences(question, weights, sentence, expected):
    """Sentences written for this test, never trained on."""
    best = load_span_model().best(_question(question, weights), sentence, 0, len(sentence))
    assert best is not None and sentence[best[0]:best[1]] == expected


def test_the_shipped_model_matches_its_manifest_and_beats_the_rules():
    model = load_span_model()
    manifest = model.manifest
    assert tuple(manifest["features"]) == SPAN_FEATURES
    assert hashlib.sha256((MODELS_DIR / SPAN_FILE).read_bytes()).hexdigest() == manifest["sha256"]
    cv = manifest["cross_validation"]
    assert cv["cv_f1"] > cv["rules_f1"] + 0.2 and cv["cv_f1"] <= cv["oracle_f1"]


def test_a_changed_span_model_is_refused(tmp_path):
    for name in (SPAN_FILE, SPAN_MANIFEST):
        shutil.copy(MODELS_DIR / name, tmp_path / name)
    data = bytearray((tmp_path / SPAN_FILE).read_bytes())
    data[len(data) // 2] ^= 1
    (tmp_path / SPAN_FILE).write_bytes(bytes(data))
    with pytest.raises(SpanModelError, match="does not match its manifest"):
        load_span_model(tmp_path)
    (tmp_path / SPAN_MANIFEST).unlink()
    with pytest.raises(SpanModelError, match="make train"):
        load_span_model(tmp_path)


def _groups(seed: int = 3) -> list[Group]:
    """Synthetic groups (not real questions): the best span is where feature 0 is highest."""
    rng = np.random.default_rng(seed)
    out = []
    for g in range(200):
        X = rng.normal(size=(12, len(SPAN_FEATURES)))
        X[:, [SPAN_FEATURES.index(c) for c in ("kind", "first_tag", "last_tag", "prev_tag", "next_tag", "asked")]] = 0
        f1 = np.zeros(12)
        f1[int(np.argmax(X[:, 0]))] = 1.0
        out.append(Group(f"q{g}", f"p{g}", X, f1, 0.0))
    return out


def test_span_training_is_deterministic_and_learns(tmp_path):
    first = train(_groups(), tmp_path / "a", log=lambda *_: None)
    second = train(_groups(), tmp_path / "b", log=lambda *_: None)
    assert first["sha256"] == second["sha256"]
    assert first["cross_validation"]["cv_f1"] > 0.5  # far above chance (1 in 12)
    assert json.loads((tmp_path / "a" / SPAN_MANIFEST).read_text())["sha256"] == first["sha256"]


def test_cached_groups_come_back_whole_and_share_one_array(tmp_path):
    """The cache is read once: every group is a view of the same arrays, not a copy of the whole cache
    each (3,059 copies of the real cache ran a 24 GB machine out of memory)."""
    groups = _groups()
    save_groups(groups, tmp_path / "spans.npz")
    back = load_groups(tmp_path / "spans.npz")
    assert [(g.qid, g.passage, g.rule_f1) for g in back] == [(g.qid, g.passage, g.rule_f1) for g in groups]
    assert all(np.array_equal(a.X, b.X) and np.array_equal(a.f1, b.f1) for a, b in zip(back, groups))
    assert len({id(g.X.base) for g in back}) == 1 and len({id(g.f1.base) for g in back}) == 1
