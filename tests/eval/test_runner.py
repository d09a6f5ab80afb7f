"""`ragchat eval run` on a tiny set over the bundled report: every output file, and the app's answers."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.slow  # builds an index of the report (seconds with the session cache)

from ragchat.cli.main import cli

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_set, eval_cache):
    out = tmp_path_factory.mktemp("run") / "tiny"
    result = CliRunner().invoke(cli, ["eval", "run", str(tiny_set), "--out", str(out), "--cache-dir", str(eval_cache)])
    assert result.exit_code == 0, result.output
    assert "| hit@5 |" in result.output  # the metrics table is printed
    return out


@pytest.fixture(scope="module")
def rows(run_dir):
    return [json.loads(line) for line in (run_dir / "results.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def summary(run_dir):
    return json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))


def test_results_have_one_line_per_question_with_every_field(rows):
    assert [r["id"] for r in rows] == ["t-1", "t-2", "t-3", "t-4", "t-5"]
    for row in rows:
        for key in ("id", "question", "answer", "refused", "citations", "retrieved", "checks", "latency_ms", "metrics"):
            assert key in row, key
        assert {"retrieve", "answer", "total"} <= set(row["latency_ms"])
        assert row["latency_ms"]["total"] >= row["latency_ms"]["retrieve"] > 0
        assert [r["rank"] for r in row["retrieved"]] == list(range(1, 11))
        scores = [r["score"] for r in row["retrieved"]]
        assert scores == sorted(scores, reverse=True)
        assert all(r["chunk_id"] and r["text"] for r in row["retrieved"])


def test_an_answered_figure_question_is_scored_and_cited(rows):
    row = rows[0]
    assert not row["refused"] and "482万亩" in row["answer"]
    m = row["metrics"]
    assert m["key_fact_recall"] == 1.0 and m["correct"] is True
    rank = m["first_relevant_rank"]
    assert rank is not None and m["hit@5"] == (1.0 if rank <= 5 else 0.0)
    assert row["retrieved"][rank - 1]["relevant"] and not any(r["relevant"] for r in row["retrieved"][: rank - 1])
    assert row["citations"] and all(c["chunk_id"] and c["quote"] for c in row["citations"])
    cited = {c["chunk_id"] for c in row["citations"]}
    assert cited <= {r["chunk_id"] for r in row["retrieved"] if r["in_context"]}


def test_an_unanswerable_question_is_right_when_refused(rows):
    row = rows[3]
    assert row["answerable"] is False
    assert row["metrics"]["correct"] == row["refused"]
    assert "hit@5" not in row["metrics"]


def test_a_fact_the_report_lacks_is_a_miss(rows):
    assert rows[4]["metrics"]["key_fact_recall"] == 0.0 and rows[4]["metrics"]["correct"] is False


def test_summary_names_what_produced_it(summary, tiny_set):
    assert re.fullmatch(r"[0-9a-f]{64}", summary["index"]["manifest_hash"])
    assert re.fullmatch(r"[0-9a-f]{64}", summary["index"]["chunks_hash"])
    assert summary["index"]["n_chunks"] > 20
    assert summary["index"]["manifest"]["embedding"]["model_id"]
    assert {"python", "ragchat", "faiss-cpu", "numpy"} <= set(summary["versions"])
    assert summary["settings"]["retrieval"]["mode"] == "hybrid" and summary["settings"]["chunking"]["chunk_tokens"]
    assert summary["set"]["path"] == str(tiny_set) and re.fullmatch(r"[0-9a-f]{64}", summary["set"]["sha256"])
    assert summary["answerer"] == "extractive" and summary["k"] == 5


def test_summary_metrics_agree_with_the_rows(summary, rows):
    m = summary["metrics"]
    answerable = [r for r in rows if r["answerable"]]
    assert m["questions"] == 5 and m["answerable"] == 4 and m["unanswerable"] == 1
    assert m["key_fact_recall"] == pytest.approx(sum(r["metrics"]["key_fact_recall"] for r in answerable) / 4, abs=1e-3)
    assert m["key_fact_recall"] <= 0.75  # t-5 can never be right
    assert m["hit_curve"]["5"] == m["hit@5"] and m["hit_curve"]["1"] <= m["hit_curve"]["10"]
    for stage in ("retrieve", "answer", "total"):
        assert m["latency_ms"][stage]["p50"] <= m["latency_ms"][stage]["p95"]
    for key in ("citation_precision", "citation_coverage", "numeric_faithfulness", "refusal_recall",
                "false_refusal_rate", "mrr@10", "hit@400tok", "answer_chars_mean"):
        assert key in m
    assert set(summary["by_type"]) == {"figure", "entity", "unanswerable"}
    assert summary["by_type"]["figure"]["questions"] == 3


def test_report_has_the_metrics_and_the_worst_items_first(run_dir, rows):
    text = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "| key_fact_recall |" in text and "| hit@5 |" in text
    where = text.index("## Where to look first")
    assert "| t-5 |" in text[where:] and "999万亩" in text[where:]
    assert "| t-1 |" not in text[where:]  # right answers are not listed
    for name in ("hit_at_k.png", "latency.png", "by_type.png"):
        assert f"]({name})" in text


def test_plots_are_valid_png_files(run_dir, summary):
    import matplotlib.image

    assert set(summary["plots"]) == {"hit_at_k.png", "latency.png", "by_type.png"}
    for name in summary["plots"]:
        data = (run_dir / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5000
        image = matplotlib.image.imread(run_dir / name)
        assert image.shape[0] > 200 and image.shape[1] > 300


def test_the_eval_gets_the_same_answer_as_ragchat_ask(rows):
    """The runner asks the app's own answer path: `ragchat ask` on the same report agrees."""
    result = CliRunner().invoke(cli, ["ask", "--json", rows[0]["question"]])
    assert result.exit_code == 0, result.output
    asked = json.loads(result.output[result.output.index("{"):])
    assert asked["answer"] == rows[0]["answer"]
    assert [r["chunk_id"] for r in asked["retrieved"]] == [r["chunk_id"] for r in rows[0]["retrieved"][:5]]
