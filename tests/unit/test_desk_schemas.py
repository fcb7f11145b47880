"""What the sign-in, user, customer and complaint forms accept (R14, R20): weak passwords and
odd user names are refused; numbers are stored as E.164 and non-numbers are refused."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from app.auth.schemas import LoginIn, UserIn, UserPatch
from app.complaints.schemas import ComplaintIn, Severity
from app.customers.schemas import CustomerPatch

USER = {"username": "li.na", "display_name": "Li Na", "role": "agent",
        "password": "a good passphrase"}
COMPLAINT = {"customer_name": "Wang Fang", "phone": "13800138000", "summary": "late delivery"}


@pytest.mark.parametrize("password", ["short1", "123456789012345", " leading space x",
                                      "trailing space x ", ""])
def test_weak_passwords_are_refused_for_new_users_and_password_changes(password):  # R20
    with pytest.raises(ValidationError, match="at least 10 characters"):
        UserIn(**{**USER, "password": password})
    with pytest.raises(ValidationError, match="at least 10 characters"):
        UserPatch(password=password)


def test_a_long_enough_password_with_letters_is_accepted():
    assert UserIn(**USER).password == "a good passphrase"
    assert UserPatch(password="0123456789x").password == "0123456789x"
    assert UserPatch().password is None


@pytest.mark.parametrize(("raw", "stored"), [("li.na", "li.na"), ("Li.Na", "li.na"),
                                             ("  agent_07 ", "agent_07"), ("a1", "a1"),
                                             ("x" * 64, "x" * 64)])
def test_user_names_are_lower_case_letters_digits_dot_dash_underscore(raw, stored):  # R20
    assert UserIn(**{**USER, "username": raw}).username == stored


@pytest.mark.parametrize("name", ["a", "-li", ".li", "li na", "李娜", "li@na", "x" * 65, ""])
def test_odd_user_names_are_refused(name):
    with pytest.raises(ValidationError):
        UserIn(**{**USER, "username": name})


def test_unknown_roles_and_extra_fields_are_refused():
    with pytest.raises(ValidationError):
        UserIn(**{**USER, "role": "superuser"})
    with pytest.raises(ValidationError):
        UserIn(**{**USER, "is_admin": True})
    with pytest.raises(ValidationError):
        LoginIn(username="li.na", password="x", remember=True)
    with pytest.raises(ValidationError):
        LoginIn(username="", password="x")


@pytest.mark.parametrize("phone", ["13800138000", "+86 138 0013 8000", "0086-138-0013-8000",
                                   "(+86) 138-0013-8000"])
def test_a_complaint_phone_is_stored_as_e164_whatever_the_spelling(phone):  # R14
    assert ComplaintIn(**{**COMPLAINT, "phone": phone}).phone == "+8613800138000"


@pytest.mark.parametrize("phone", ["", "abc", "1001", "86", "anonymous"])
def test_a_complaint_without_a_real_phone_number_is_refused(phone):  # R14
    with pytest.raises(ValidationError, match="not a phone number"):
        ComplaintIn(**{**COMPLAINT, "phone": phone})


def test_a_complaint_has_defaults_and_its_text_is_trimmed():  # R14
    complaint = ComplaintIn(**{**COMPLAINT, "customer_name": "  Wang Fang ",
                               "summary": " late \n", "address": " Road 1 "})
    assert (complaint.customer_name, complaint.summary, complaint.address) == (
        "Wang Fang", "late", "Road 1")
    assert complaint.severity is Severity.general
    assert complaint.responsible_person == ""


@pytest.mark.parametrize("field", ["customer_name", "summary"])
@pytest.mark.parametrize("blank", ["", "   ", "\n\t"])
def test_a_complaint_needs_a_name_and_a_summary_that_are_not_blank(field, blank):  # R14
    with pytest.raises(ValidationError):
        ComplaintIn(**{**COMPLAINT, field: blank})


@pytest.mark.parametrize("changes", [{"severity": "urgent"}, {"owner_agent_id": str(uuid.uuid4())},
                                     {"call_id": "not-a-uuid"}, {"summary": "x" * 10001}])
def test_a_complaint_with_unknown_fields_or_values_is_refused(changes):
    with pytest.raises(ValidationError):
        ComplaintIn(**{**COMPLAINT, **changes})


def test_a_customer_patch_normalises_the_number_and_trims_text():  # R14
    patch = CustomerPatch(phone="010-1234 5678", name=" Wang Fang ", notes=" calls at night ")
    assert (patch.phone, patch.name, patch.notes) == ("+861012345678", "Wang Fang",
                                                      "calls at night")
    assert patch.model_dump(exclude_unset=True).keys() == {"phone", "name", "notes"}


@pytest.mark.parametrize("changes", [{"phone": "1001"}, {"phone": "abc"},
                                     {"preferred_language": "Chinese"},
                                     {"preferred_language": "ZH"}, {"important": "very"},
                                     {"created_at": "2026-01-01T00:00:00Z"}, {"id": str(uuid.uuid4())},
                                     {"name": "x" * 201}])
def test_a_customer_patch_refuses_bad_values_and_unknown_fields(changes):  # R14, R20
    with pytest.raises(ValidationError):
        CustomerPatch(**changes)


def test_a_customer_patch_may_clear_the_language():
    assert CustomerPatch(preferred_language=None).model_dump(exclude_unset=True) == {
        "preferred_language": None}
    assert CustomerPatch(preferred_language="yue").preferred_language == "yue"
