"""The build step that pyproject.toml cannot say: the wheel carries the bundled report.

The report stays at ``data/corpus/`` in the repository (the source checkout and an editable install
read it there); a built wheel holds a copy at ``ragchat/_bundled/corpus/``, where
:func:`ragchat.paths.bundled_corpus_dir` finds it once installed.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CORPUS = Path(__file__).resolve().parent / "data" / "corpus"
BUNDLED = Path("ragchat") / "_bundled" / "corpus"


class BuildPyWithCorpus(build_py):
    """``build_py``, then ``data/corpus/*.txt`` into ``ragchat/_bundled/corpus`` of the build."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads data/corpus in place
            return
        target = Path(self.build_lib) / BUNDLED
        self.mkpath(str(target))
        for report in sorted(CORPUS.glob("*.txt")):
            self.copy_file(str(report), str(target / report.name))


setup(cmdclass={"build_py": BuildPyWithCorpus})
