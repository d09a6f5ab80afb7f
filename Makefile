# Two commands do all the set-up:  make run   and   make test
# Each creates (or reuses) the virtualenv .venv and installs what it needs.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test install bench docs clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# `make run` keeps its index and caches in this checkout unless RAGCHAT_HOME says otherwise.
RAGCHAT_HOME ?= $(CURDIR)/.ragchat
export RAGCHAT_HOME

## run: the main job on the bundled report (the index is built on first run)
run: $(STAMP)
	$(BIN)/ragchat ingest --out .ragchat/chunks.jsonl
	$(BIN)/ragchat index add data/corpus
	$(BIN)/ragchat index status

## test: the whole test suite
test: $(STAMP)
	$(BIN)/python -m pytest -q

## bench: index benchmarks (build, latency, memory, incremental update, FAISS crossover)
bench: $(STAMP)
	$(BIN)/python -m index.bench --out docs/bench-index.md
	$(BIN)/python -m index.bench_faiss | tee docs/bench-faiss.md

## docs: regenerate docs/settings.md from the settings object
docs: $(STAMP)
	$(BIN)/ragchat config doc > docs/settings.md

clean:
	rm -rf $(VENV) .ragchat
