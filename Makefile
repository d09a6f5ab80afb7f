# Two commands do all the set-up:  make run   and   make test
# Each creates (or reuses) the virtualenv .venv and installs what it needs.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
KEY    := $(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# `make run` needs the runtime only; the tests also need the test extras (torch, llama.cpp, playwright...).
RUNTIME := $(VENV)/.installed-run-$(KEY)
STAMP   := $(VENV)/.installed-test-$(KEY)

# llama.cpp (the test extra's LLM server) is compiled on install. GGML_NATIVE=OFF builds for generic
# x86-64 with AVX2 instead of this CPU's every feature: a native build on a machine that reports AMX/AVX-512
# died with "Illegal instruction" on its first prompt (session 11), and a wheel cached by pip must run on
# whatever machine reuses the cache.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF

.PHONY: run test install bench docs clean openapi bench-serve bench-scale

define make_venv
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
endef

$(RUNTIME): pyproject.toml
	$(make_venv)
	$(BIN)/python -m pip install --quiet -e .
	rm -f $(VENV)/.installed-run-* && touch $@

$(STAMP): pyproject.toml
	$(make_venv)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@ $(RUNTIME)  # the test extras hold the runtime

install: $(STAMP)

# `make run` keeps its index and caches in this checkout unless RAGCHAT_HOME says otherwise.
RAGCHAT_HOME ?= $(CURDIR)/.ragchat
export RAGCHAT_HOME

## run: `ragchat serve` on the bundled report: the chat UI at http://127.0.0.1:7860/ and the API at /v1 (the index is built on first run)
run: $(RUNTIME)
	$(BIN)/ragchat serve --port 7860

## test: the whole test suite
test: $(STAMP)
	$(BIN)/python -m pytest -q

# Evaluation (docs/eval.md). Runs go to build/eval; embeddings are cached in
# $RAGCHAT_EVAL_CACHE (default ~/.cache/ragchat/eval), so only new texts are embedded.
CMRC_DEV := eval/data/cmrc2018/squad-style-data_cmrc2018_dev.json
.PHONY: eval eval-cmrc eval-cmrc-full eval-gate train ablation

## train: retrain the answer selector, the refusal model and the short-answer span ranker into chat/models (deterministic; about 10 min on 2 cores)
train: $(STAMP)
	$(BIN)/python -m eval.train
	$(BIN)/python -m eval.train_span

## ablation: each expander and each selector feature group switched off, on every held-out set (docs/ablation.md)
ablation: $(STAMP)
	$(BIN)/python -m eval.ablation --out docs/ablation.md

## eval: the report dev set on the report alone, and on the report with the 848 CMRC passages
eval: $(STAMP)
	$(BIN)/ragchat eval run eval/sets/report_dev.jsonl --out build/eval/report
	$(BIN)/ragchat eval run eval/sets/report_dev.jsonl --distractors --out build/eval/report-distractors

## eval-cmrc: the test half of CMRC 2018 dev (never trained on) against all 848 passages, then each question without its own passage
eval-cmrc: $(STAMP)
	$(BIN)/ragchat eval run $(CMRC_DEV) --split test --out build/eval/cmrc-test
	$(BIN)/ragchat eval run $(CMRC_DEV) --split test --no-gold --out build/eval/cmrc-test-nogold

## eval-cmrc-full: CMRC 2018 dev, all 3,219 questions, half of them trained on (not run in CI)
eval-cmrc-full: $(STAMP)
	$(BIN)/ragchat eval run $(CMRC_DEV) --out build/eval/cmrc-full

## eval-gate: the quality gate of CI: fails when a metric drops below eval/thresholds.toml
eval-gate: $(STAMP)
	$(BIN)/python -m eval.gate --out build/eval-gate

## bench: index benchmarks (build, latency, memory, incremental update, FAISS crossover) and `ask` latency by stage
bench: $(STAMP)
	$(BIN)/python -m index.bench --out docs/bench-index.md
	$(BIN)/python -m index.bench_faiss | tee docs/bench-faiss.md
	$(BIN)/python -m eval.bench_answer --out docs/bench-answer.md
	$(BIN)/python -m eval.bench_first_ask --out docs/bench-first-ask.md

## docs: regenerate docs/settings.md from the settings object, and the API's schema
docs: $(STAMP) openapi
	$(BIN)/ragchat config doc > docs/settings.md

## openapi: regenerate docs/openapi.json, the schema /v1/openapi.json serves (a test compares them)
openapi: $(RUNTIME)
	$(BIN)/python -m chat.server.schema > docs/openapi.json

## bench-scale: FAISS flat/HNSW/IVF-PQ, Milvus Lite and bm25s at 10k, 100k and 1M chunks (about 1.5 h on 2 cores; not in CI; docs/scale.md)
bench-scale: $(STAMP)
	$(BIN)/python -m index.bench_scale --sizes 10000,100000,1000000 --out docs/scale-bench.md

## bench-serve: the load test of the API (50 clients for 60 s on loopback; docs/serve.md, "Load")
bench-serve: $(STAMP)
	$(BIN)/python -m chat.server.bench_load --out docs/bench-serve-load.md --plot docs/plots/serve-load.png

clean:
	rm -rf $(VENV) .ragchat
