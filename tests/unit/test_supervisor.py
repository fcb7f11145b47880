"""The stack's supervisor (R21, stack/supervisor.py): when it starts a dead instance again, and
which instance its front forwards to."""

from __future__ import annotations

import pytest

from stack.supervisor import EXIT_LEASE_LOST, MAX_DELAY, MIN_DELAY, Supervisor, restart_delay
from app.lease import EXIT_LEASE_LOST as APP_EXIT_LEASE_LOST


def test_a_crashing_instance_is_restarted_with_a_growing_delay_up_to_the_maximum():
    delays, delay = [], 0.0
    for _ in range(10):
        delay = restart_delay(delay, ran_for=1.0, returncode=1)
        delays.append(delay)
    assert delays[:4] == [MIN_DELAY, 1.0, 2.0, 4.0]
    assert delays[-1] == MAX_DELAY and delays == sorted(delays)


def test_an_instance_that_ran_a_while_or_lost_the_lease_is_restarted_at_once():
    assert restart_delay(16.0, ran_for=45.0, returncode=-9) == MIN_DELAY
    assert restart_delay(16.0, ran_for=1.0, returncode=EXIT_LEASE_LOST) == MIN_DELAY
    assert EXIT_LEASE_LOST == APP_EXIT_LEASE_LOST  # the service's "lease lost" status


@pytest.mark.parametrize(("roles", "port"), [
    (["standby", "active"], 8002),
    (["active", "standby"], 8001),
    (["down", "standby"], 8002),  # no active one yet: the standby answers /health and pages
    (["down", "down"], None),
])
async def test_the_front_forwards_to_the_active_instance(roles, port):
    sup = Supervisor(instances=2, host="127.0.0.1", port=8000)
    assert [i.port for i in sup.instances] == [8001, 8002]
    for inst, role in zip(sup.instances, roles):
        inst.role = role
    target = sup._target()
    assert (target.port if target else None) == port


async def test_one_instance_listens_on_the_service_port_itself():
    assert [i.port for i in Supervisor(instances=1, host="127.0.0.1", port=8000).instances] == [8000]
