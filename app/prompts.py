"""Prompt files: the catalog (prompts/system.yaml) and their synthesis with espeak-ng and sox.

`python -m app.prompts --out DIR` writes DIR/<lang>/<name>.wav (8 kHz, mono, 16-bit: what
Asterisk's format_wav plays without transcoding). A recorded file in prompts/recorded/<lang>/
replaces the synthesised one. Files whose text did not change are not made again.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, model_validator

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "prompts" / "system.yaml"
RECORDED = ROOT / "prompts" / "recorded"


class Catalog(BaseModel):
    voices: dict[str, str] = Field(min_length=1)  # language -> espeak-ng voice
    prompts: dict[str, dict[str, str]]  # name -> language -> text

    @model_validator(mode="after")
    def _every_prompt_in_every_language(self) -> "Catalog":
        for name, texts in self.prompts.items():
            missing = set(self.voices) - set(texts)
            if missing:
                raise ValueError(f"prompt {name!r} has no text for {sorted(missing)}")
            if not name.replace("_", "").isalnum():
                raise ValueError(f"prompt name {name!r} must be letters, digits and _")
        return self


def load_catalog(path: Path = CATALOG) -> Catalog:
    return Catalog.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@functools.cache
def system_prompt_names() -> frozenset[str]:
    """The names of the service's own prompts (e.g. what a queue's voicemail overflow may play)."""
    return frozenset(load_catalog().prompts)


def synthesize(text: str, voice: str, target: Path) -> None:
    """Speak `text` with espeak-ng and convert it to 8 kHz mono 16-bit WAV at `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(raw), text], check=True,
                       capture_output=True)
        subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(target)],
                       check=True, capture_output=True)


def build(out: Path, catalog: Catalog | None = None) -> list[Path]:
    """Write every prompt in every language under `out`; return the files (re)made."""
    catalog = catalog or load_catalog()
    made = []
    for name, texts in catalog.prompts.items():
        for lang, voice in catalog.voices.items():
            target = out / lang / f"{name}.wav"
            recorded = RECORDED / lang / f"{name}.wav"
            source = recorded.read_bytes() if recorded.exists() else f"{voice}\0{texts[lang]}".encode()
            stamp = target.with_suffix(".sha256")
            digest = hashlib.sha256(source).hexdigest()
            if target.exists() and stamp.exists() and stamp.read_text() == digest:
                continue
            if recorded.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(recorded, target)
            else:
                synthesize(texts[lang], voice, target)
            stamp.write_text(digest)
            made.append(target)
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="directory for <lang>/<name>.wav")
    args = parser.parse_args()
    made = build(args.out)
    print(f"prompts: {len(made)} made in {args.out}")


if __name__ == "__main__":
    main()
