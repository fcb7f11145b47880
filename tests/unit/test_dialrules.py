"""Where the hotline may send a call (#20, R20): agents' contacts on the phone networks only,
call-backs only to numbers matching the outbound patterns."""

from __future__ import annotations

import ipaddress

import pytest

from app import dialrules
from app.config import DEFAULT_OUTBOUND_NUMBERS, DEFAULT_PHONE_NETWORKS
from tests.support.settings import make_settings

NETS = tuple(ipaddress.ip_network(n) for n in DEFAULT_PHONE_NETWORKS)


@pytest.mark.parametrize("contact", ["sip:8001@10.0.0.5:5070", "sip:a@127.0.0.1:5090",
                                     "sips:desk@192.168.1.20", "sip:x@172.16.4.4:5060"])
def test_a_contact_on_a_phone_network_may_be_dialled(contact):
    assert dialrules.contact_refusal(contact, NETS) is None


@pytest.mark.parametrize(("contact", "why"), [
    ("sip:8001@203.0.113.9:5060", "on none of the agents' phone networks"),
    ("sip:8001@sip.attacker.example", "is a name"),
    ("sip:8001@8.8.8.8", "on none"),
    ("sip:+447700900123@172.32.0.1", "on none"),
    ("tel:+8613800138000", "not a SIP URI"),
])
def test_a_contact_elsewhere_is_refused_with_the_reason(contact, why):
    assert why in dialrules.contact_refusal(contact, NETS)


@pytest.mark.parametrize("number", ["13800138000", "+8613800138000", "010-1234 5678",
                                    "02112345678", "0571-8888 7777", "07551234567"])
def test_mainland_mobiles_and_landlines_may_be_called_back(number):
    assert dialrules.number_refusal(number, DEFAULT_OUTBOUND_NUMBERS) is None


@pytest.mark.parametrize("number", ["+447700900123", "001-900-555-0100", "+882123456789",
                                    "95588", "12590123", "anonymous", "", None, "110"])
def test_international_premium_short_and_made_up_numbers_are_refused(number):
    assert dialrules.number_refusal(number, DEFAULT_OUTBOUND_NUMBERS) is not None


def test_patterns_are_asterisk_style():
    assert dialrules.compile_pattern("+86[137]ZN.").fullmatch("+861290")
    assert not dialrules.compile_pattern("+86[137]ZN.").fullmatch("+86219")
    with pytest.raises(ValueError):
        dialrules.compile_pattern("+86.*")


def test_the_settings_take_networks_and_patterns_and_refuse_nonsense():
    s = make_settings(agent_phone_networks="10.1.0.0/16, 192.168.5.7",
                      outbound_numbers="+8613XXXXXXXXX")
    assert [str(n) for n in s.agent_phone_networks] == ["10.1.0.0/16", "192.168.5.7/32"]
    assert s.outbound_numbers == ("+8613XXXXXXXXX",)
    for bad in ({"agent_phone_networks": "10.0.0.0/33"}, {"agent_phone_networks": ""},
                {"outbound_numbers": "+86.*"}, {"outbound_numbers": ""}):
        with pytest.raises(ValueError):
            make_settings(**bad)


def test_the_checks_raise_422_with_an_error_id():
    with pytest.raises(dialrules.ContactNotAllowed) as refused:
        dialrules.check_contact("sip:a@203.0.113.9", NETS)
    assert (refused.value.status_code, refused.value.error_id) == (422, "contact-not-allowed")
    dialrules.check_contact(None, NETS)
    with pytest.raises(dialrules.NumberNotAllowed) as refused:
        dialrules.check_number("+447700900123", DEFAULT_OUTBOUND_NUMBERS)
    assert (refused.value.status_code, refused.value.error_id) == (422, "number-not-allowed")
