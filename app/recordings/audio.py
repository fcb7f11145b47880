"""What a recording's bytes say about it (pure): WAV format and duration from the header."""

from __future__ import annotations

import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class WavInfo:
    rate: int
    channels: int
    sample_width: int
    frames: int
    data_offset: int = 44   # where the samples start

    @property
    def duration_seconds(self) -> float:
        return self.frames / self.rate if self.rate else 0.0


def wav_info(data: bytes) -> WavInfo | None:
    """The `fmt ` and `data` chunks of a PCM WAV (None if it is not one). A data size that
    promises more than the bytes hold (a file cut short, a header never rewritten) counts the
    frames that are there."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    offset, fmt = 12, None
    while offset + 8 <= len(data):
        kind, size = data[offset:offset + 4], struct.unpack_from("<I", data, offset + 4)[0]
        body = offset + 8
        if kind == b"fmt " and size >= 16:
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", data, body)
            if tag not in (1, 0xFFFE) or not channels or not rate or bits % 8:
                return None
            fmt = (rate, channels, bits // 8)
        elif kind == b"data" and fmt is not None:
            rate, channels, width = fmt
            available = min(size, len(data) - body)
            return WavInfo(rate=rate, channels=channels, sample_width=width,
                           frames=available // (channels * width), data_offset=body)
        offset = body + size + (size & 1)
    return None


def silent(data: bytes, start_seconds: float, end_seconds: float, *, threshold: int = 64) -> bool:
    """Whether 16-bit mono PCM in [start, end) stays within +-threshold (a muted stretch)."""
    info = wav_info(data)
    if info is None or info.sample_width != 2 or info.channels != 1:
        return False
    first = min(max(int(start_seconds * info.rate), 0), info.frames)
    last = min(max(int(end_seconds * info.rate), first), info.frames)
    samples = memoryview(data[info.data_offset + 2 * first:info.data_offset + 2 * last]).cast("h")
    return all(-threshold <= s <= threshold for s in samples)
