"""The server errors schemathesis found (#20, finding 11): an id past the column's range and a
month in year 0 (or past year 9999) are clear 4xx answers with an `error_id`, never a 500."""

from __future__ import annotations

import pytest

from tests.db.test_roles import prepare
from tests.support.desk import admin_token, client, fast_passwords

__all__ = ["fast_passwords"]


async def test_a_menu_version_id_past_the_columns_range_is_a_clear_4xx(sessionmaker,
                                                                       fast_passwords):
    app, world = await prepare(sessionmaker, ["manager"])
    async with client(app, world.tokens["manager"]) as c:
        for bad in ("5888646295318", "-1", "0"):
            resp = await c.get(f"/api/ivr/versions/{bad}")
            assert resp.status_code in (404, 422) and resp.json()["error_id"], (bad, resp.text)


@pytest.mark.parametrize("month", ["0000-01", "9999-12", "0001-01"])
async def test_a_month_out_of_range_is_refused_422(sessionmaker, fast_passwords, month):
    app, world = await prepare(sessionmaker, ["manager"])
    async with client(app, admin_token(app)) as c:
        got = await c.get("/api/qa/samples", params={"month": month})
        posted = await c.post("/api/qa/samples", json={"month": month})
        report = await c.get("/api/qa/reports/agents", params={"month": month})
    for resp in (got, posted, report):
        assert (resp.status_code, resp.json()["error_id"]) == (422, "invalid-request"), resp.text
