"""Text encoding detection for Korean files: UTF-8 (with or without BOM), then CP949, then a detector."""

from __future__ import annotations

from dataclasses import dataclass

import charset_normalizer


@dataclass(frozen=True, slots=True)
class DecodedText:
    text: str
    encoding: str


def decode_text(data: bytes) -> DecodedText | None:
    """Decode ``data``; None when no encoding fits.

    Strict UTF-8 comes first (``utf-8-sig`` also drops a BOM). CP949 is a superset of EUC-KR, so it
    covers both legacy Korean encodings. charset-normalizer is the last resort, for anything else.
    """
    try:
        return DecodedText(data.decode("utf-8-sig"), "utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return DecodedText(data.decode("cp949"), "cp949")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        return None
    return DecodedText(str(best), best.encoding)
