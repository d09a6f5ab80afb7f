"""Checks and conversions of embedding vectors (numpy float32 arrays)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ragchat.errors import EmbeddingError

FloatMatrix = npt.NDArray[np.float32]

#: How far from 1.0 the norm of a vector may be and still count as unit length.
NORM_TOLERANCE = 1e-3


def as_matrix(rows: object, expected_rows: int, source: str) -> FloatMatrix:
    """Return ``rows`` as a finite 2-D float32 array of ``expected_rows`` rows."""
    try:
        matrix = np.asarray(rows, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise EmbeddingError(f"{source} returned vectors that are not numbers: {exc}") from exc
    if matrix.ndim == 1 and expected_rows == 1:
        matrix = matrix.reshape(1, -1)
    if matrix.ndim != 2 or matrix.shape[0] != expected_rows or matrix.shape[1] == 0:
        raise EmbeddingError(
            f"{source} returned vectors of shape {matrix.shape}, expected "
            f"{expected_rows} rows of equal, non-zero length"
        )
    if not np.isfinite(matrix).all():
        raise EmbeddingError(f"{source} returned NaN or infinite values; the model is broken")
    return matrix


def l2_normalise(matrix: FloatMatrix, source: str) -> FloatMatrix:
    """Scale every row of ``matrix`` to unit L2 norm.

    A zero row cannot be normalised and raises :class:`EmbeddingError`.
    """
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    if (norms == 0).any():
        raise EmbeddingError(f"{source} returned an all-zero vector, which cannot be normalised")
    normalised: FloatMatrix = (matrix / norms).astype(np.float32, copy=False)
    return normalised


def check_unit_norm(matrix: FloatMatrix, source: str) -> FloatMatrix:
    """Return ``matrix`` after checking that every row has unit L2 norm."""
    norms = np.linalg.norm(matrix, axis=1)
    if matrix.shape[0] and np.abs(norms - 1.0).max() > NORM_TOLERANCE:
        raise EmbeddingError(
            f"{source} returned vectors that are not unit length (norms "
            f"{norms.min():.4f}..{norms.max():.4f}); the model output is corrupt"
        )
    return matrix


def to_lists(matrix: FloatMatrix) -> list[list[float]]:
    """Return the rows of ``matrix`` as lists of Python floats."""
    return [row.tolist() for row in matrix]


def stack(parts: Sequence[FloatMatrix]) -> FloatMatrix:
    """Concatenate row blocks of the same width into one matrix."""
    if not parts:
        return np.zeros((0, 0), dtype=np.float32)
    widths = {part.shape[1] for part in parts}
    if len(widths) != 1:
        raise EmbeddingError(
            f"the model returned vectors of different lengths {sorted(widths)} across batches"
        )
    return np.concatenate(parts, axis=0)
