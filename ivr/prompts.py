"""The menu's prompt files, named by their content: `<prompt_dir>/ivr/<key>.wav`.

A key is the SHA-256 of what makes the sound (the voice and text, or a recorded file's bytes),
so menu versions share unchanged prompts, and an edited text never plays an old recording.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from app.prompts import synthesize
from ivr.menu import MenuDocument


@dataclass(frozen=True)
class PromptSource:
    key: str
    text: str | None
    voice: str | None
    file: Path | None


def sources(doc: MenuDocument, base_dir: Path) -> dict[tuple[str, str], PromptSource]:
    """(prompt name, language) -> where its sound comes from."""
    out = {}
    for name in doc.prompts:
        for lang in doc.languages:
            p = doc.prompt_text(name, lang)
            if p.file is not None:
                path = (base_dir / p.file).resolve()
                key = hashlib.sha256(path.read_bytes()).hexdigest()[:24] if path.exists() else "missing"
                out[(name, lang)] = PromptSource(key=key, text=None, voice=None, file=path)
            else:
                voice = doc.voices.get(lang, lang)
                key = hashlib.sha256(f"{voice}\0{p.text}".encode()).hexdigest()[:24]
                out[(name, lang)] = PromptSource(key=key, text=p.text, voice=voice, file=None)
    return out


def build(doc: MenuDocument, base_dir: Path, out_dir: Path) -> int:
    """Make the missing prompt files under out_dir/ivr/; return how many were made."""
    made = 0
    for (name, lang), src in sources(doc, base_dir).items():
        target = out_dir / "ivr" / f"{src.key}.wav"
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part.wav")
        if src.file is not None:
            if not src.file.exists():
                raise FileNotFoundError(f"prompt {name!r} ({lang}): no file {src.file}")
            subprocess.run(["sox", str(src.file), "-r", "8000", "-c", "1", "-b", "16",
                            str(partial)], check=True, capture_output=True)
        else:
            synthesize(src.text or "", src.voice or lang, partial)
        partial.rename(target)
        made += 1
    return made
