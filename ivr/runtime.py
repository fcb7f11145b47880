"""The menu the service runs: loaded, linted, versioned in Postgres, its prompts in place.

At start the service reads `HOTLINE_IVR_FILE`; a file that fails validation is refused and the
last good (active) version from the database runs instead. `reload_file` (API or SIGHUP) and
`replace` (PUT /api/ivr) do the same: a bad menu never replaces a good one.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from ivr import prompts, service
from ivr.loader import MenuError, Problem, load_menu
from ivr.menu import MenuDocument

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ActiveMenu:
    version_id: int
    doc: MenuDocument
    source: str
    base_dir: Path
    keys: dict[tuple[str, str], str]  # (prompt, language) -> prompt file key

    def media(self, prompt_dir: str, name: str, language: str) -> str:
        return f"sound:{prompt_dir.rstrip('/')}/ivr/{self.keys[(name, language)]}"


class NoMenu(RuntimeError):
    pass


class MenuRuntime:
    def __init__(self, *, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]):
        self.settings = settings
        self.sessions = sessionmaker
        self._current: ActiveMenu | None = None
        self._lock = asyncio.Lock()

    @property
    def current(self) -> ActiveMenu:
        if self._current is None:
            raise NoMenu("no voice menu is loaded")
        return self._current

    async def start(self) -> None:
        """Load the menu file; if it is bad, run the last good version from the database."""
        try:
            await self.reload_file(created_by="startup")
        except (MenuError, OSError) as exc:
            log.error("ivr.file_refused", file=str(self.settings.ivr_file), error=str(exc))
            async with self.sessions() as session:
                version = await service.active(session=session)
            if version is None:
                raise NoMenu(f"{self.settings.ivr_file} is not a valid menu and no earlier "
                             f"version exists:\n{exc}") from exc
            self._current = await self._prepare(version.id, version.source,
                                                self.settings.ivr_file.parent, version.origin)
            log.warning("ivr.running_last_good_version", version=version.id)

    async def reload_file(self, *, created_by: str) -> ActiveMenu:
        path = self.settings.ivr_file
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
        return await self.replace(text, origin=str(path), created_by=created_by,
                                  base_dir=path.parent)

    async def replace(self, text: str, *, origin: str, created_by: str,
                      base_dir: Path | None = None) -> ActiveMenu:
        """Validate, build prompts, store as the active version; raises MenuError if bad."""
        base_dir = base_dir or self.settings.ivr_file.parent
        async with self._lock:
            doc = load_menu(text, source=origin)
            await self._build_prompts(doc, base_dir)
            async with self.sessions() as session, session.begin():
                version = await service.activate_source(
                    session=session, source=text, sha256=hashlib.sha256(text.encode()).hexdigest(),
                    name=doc.name, origin=origin, created_by=created_by)
            self._current = self._activate(version.id, doc, text, base_dir)
            log.info("ivr.active", version=version.id, origin=origin, nodes=len(doc.nodes))
            return self._current

    async def _prepare(self, version_id: int, text: str, base_dir: Path, origin: str) -> ActiveMenu:
        doc = load_menu(text, source=f"version {version_id} ({origin})")
        await self._build_prompts(doc, base_dir)
        return self._activate(version_id, doc, text, base_dir)

    def _activate(self, version_id: int, doc: MenuDocument, text: str, base_dir: Path) -> ActiveMenu:
        keys = {k: s.key for k, s in prompts.sources(doc, base_dir).items()}
        return ActiveMenu(version_id=version_id, doc=doc, source=text, base_dir=base_dir, keys=keys)

    async def _build_prompts(self, doc: MenuDocument, base_dir: Path) -> None:
        out = self.settings.prompt_build_dir
        if out is None:
            return  # prompts are put in place by the deployment
        try:
            made = await asyncio.to_thread(prompts.build, doc, base_dir, out)
        except Exception as exc:  # noqa: BLE001 - a menu whose prompts cannot be made is refused
            raise MenuError([Problem(source=doc.name, line=None, node=None, rule="prompt-build",
                                     message=f"could not make the prompts: {exc}")]) from exc
        if made:
            log.info("ivr.prompts_built", count=made, dir=str(out))
