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

## run: the main job on the bundled report
run: $(STAMP)
	$(BIN)/ragchat ingest --out .ragchat/chunks.jsonl

## test: the whole test suite
test: $(STAMP)
	$(BIN)/python -m pytest -q

## docs: regenerate docs/settings.md from the settings object
docs: $(STAMP)
	$(BIN)/ragchat config doc > docs/settings.md

clean:
	rm -rf $(VENV) .ragchat
