"""The running menu: versioned in Postgres, a bad menu never replaces a good one, prompts built."""

from __future__ import annotations

import wave
from pathlib import Path

import httpx
import pytest

from app.main import create_app
from ivr import service
from ivr.loader import MenuError
from ivr.runtime import MenuRuntime, NoMenu
from tests.support.settings import make_settings

DEMO = Path(__file__).resolve().parents[2] / "ivr" / "demo.yaml"
BAD = DEMO.read_text().replace("next: hours", "next: nowhere", 1)


@pytest.fixture
def sessionmaker(committing_sessionmaker):
    return committing_sessionmaker


def runtime(sessionmaker, ivr_file: Path = DEMO, **settings) -> MenuRuntime:
    return MenuRuntime(settings=make_settings(ivr_file=ivr_file, **settings),
                       sessionmaker=sessionmaker)


async def test_the_menu_file_becomes_a_version_and_an_unchanged_file_adds_none(sessionmaker):
    menus = runtime(sessionmaker)
    await menus.start()
    first = menus.current.version_id
    await menus.reload_file(created_by="test")
    assert menus.current.version_id == first
    async with sessionmaker() as session:
        versions = await service.list_versions(session=session)
    assert [(v.id, v.is_active, v.origin) for v in versions] == [(first, True, str(DEMO))]


async def test_a_bad_menu_is_refused_and_the_last_good_one_keeps_running(sessionmaker, tmp_path):
    menus = runtime(sessionmaker)
    await menus.start()
    good = menus.current
    with pytest.raises(MenuError, match="nowhere"):
        await menus.replace(BAD, origin="api", created_by="admin")
    assert menus.current is good
    async with sessionmaker() as session:
        assert (await service.active(session=session)).id == good.version_id


async def test_a_service_starting_with_a_bad_file_runs_the_last_good_version(
        sessionmaker, tmp_path):
    await runtime(sessionmaker).start()
    bad_file = tmp_path / "menu.yaml"
    bad_file.write_text(BAD)
    menus = runtime(sessionmaker, bad_file)
    await menus.start()
    assert menus.current.doc.nodes["welcome"].next == "hours"


async def test_without_any_good_menu_the_service_refuses_to_start(sessionmaker, tmp_path):
    bad_file = tmp_path / "menu.yaml"
    bad_file.write_text(BAD)
    with pytest.raises(NoMenu, match="nowhere"):
        await runtime(sessionmaker, bad_file).start()


async def test_prompts_are_built_per_language_and_a_recorded_file_is_converted(
        sessionmaker, tmp_path):
    recorded = tmp_path / "menu" / "greeting-zh.wav"
    recorded.parent.mkdir()
    with wave.open(str(recorded), "wb") as w:  # a 16 kHz "studio" recording
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes(b"\x10\x00" * 16000)
    menu_file = tmp_path / "menu" / "menu.yaml"
    menu_file.write_text(DEMO.read_text().replace(
        "  greeting:\n    zh: 您好，示范热线服务中心。",
        "  greeting:\n    zh: {file: greeting-zh.wav}"))
    out = tmp_path / "prompts"
    menus = runtime(sessionmaker, menu_file, prompt_build_dir=out)
    await menus.start()
    menu = menus.current
    for (name, lang), key in menu.keys.items():
        assert (out / "ivr" / f"{key}.wav").exists(), (name, lang)
    with wave.open(str(out / "ivr" / f"{menu.keys[('greeting', 'zh')]}.wav")) as w:
        assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (8000, 1, 8000)
    assert menu.keys[("greeting", "zh")] != menu.keys[("greeting", "en")]
    assert menu.media("/srv/p", "thanks", "en") == f"sound:/srv/p/ivr/{menu.keys[('thanks', 'en')]}"


@pytest.fixture
async def api(sessionmaker, clock):
    settings = make_settings()
    app = create_app(settings, clock=clock)  # the test's clock, never today's
    app.state.sessionmaker = sessionmaker
    app.state.menus = runtime(sessionmaker)
    await app.state.menus.start()
    headers = {"Authorization": f"Bearer {settings.admin_token.get_secret_value()}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers=headers) as client:
        yield client


async def test_menu_api_puts_a_new_version_lists_versions_and_refuses_bad_menus(api):
    first = (await api.get("/api/ivr")).json()
    assert first["languages"] == ["zh", "en"] and first["nodes"] == 17
    changed = DEMO.read_text().replace("  main:\n    kind: menu\n", "  main:\n    kind: menu\n    timeout_seconds: 6\n")
    resp = await api.put("/api/ivr", content=changed.encode(), headers={"Content-Type": "text/yaml"})
    assert resp.status_code == 200, resp.text
    second = resp.json()
    assert second["id"] > first["id"] and second["origin"] == "api"
    bad = await api.put("/api/ivr", content=BAD.encode(), headers={"Content-Type": "text/yaml"})
    assert bad.status_code == 422
    problem = bad.json()["details"]["problems"][0]
    assert (problem["rule"], problem["node"]) == ("dangling-target", "welcome")
    assert problem["line"] is not None
    versions = (await api.get("/api/ivr/versions")).json()
    assert [v["id"] for v in versions] == [second["id"], first["id"]]
    assert [v["is_active"] for v in versions] == [True, False]
    old = (await api.get(f"/api/ivr/versions/{first['id']}")).json()
    assert old["source"] == DEMO.read_text()
    assert (await api.get("/api/ivr/versions/99999")).status_code == 404
    reloaded = (await api.post("/api/ivr/reload")).json()
    assert reloaded["id"] > second["id"] and reloaded["origin"] == str(DEMO)
