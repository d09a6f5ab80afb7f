"""Images (PNG, JPEG, TIFF) through OCR: each image, or each frame of a TIFF, is a page."""

from __future__ import annotations

import io
from pathlib import Path

from ingest.pages import PagedText, join_pages
from ingest.progress import pages_progress
from ragchat.errors import EmptyDocumentError, MalformedDocumentError


def image_pages(data: bytes, path: Path, progress: bool = False) -> PagedText:
    if not data.strip():
        raise EmptyDocumentError(path)
    from PIL import Image, ImageSequence, UnidentifiedImageError

    from ingest.ocr import recognise

    try:
        with Image.open(io.BytesIO(data)) as image:
            frames = [frame.convert("RGB") for frame in ImageSequence.Iterator(image)]
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise MalformedDocumentError(path, f"image: {exc}") from None
    return join_pages([recognise(frame) for frame in pages_progress(frames, path.name, progress)], "ocr")
