"""Phone numbers (R3, R14, R20): one canonical form, E.164, for every way a caller ID or an agent
writes a number (13800138000, +86 138 0013 8000, 0086-138..., 010-1234 5678), and the masked form
shown to roles that have no need for the full number (138****8000)."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

DEFAULT_REGION = "CN"  # numbers without a country code are Chinese (national format)


def normalise(number: str | None, *, region: str = DEFAULT_REGION) -> str | None:
    """E.164 (`+8613800138000`, `+861012345678`), or None for what is not a phone number
    (anonymous, short internal extensions, text)."""
    raw = (number or "").strip()
    if not raw or not any(ch.isdigit() for ch in raw):
        return None
    try:
        parsed = phonenumbers.parse(raw, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def national(e164: str) -> str:
    """The digits a person dials at home: `13800138000`, `01012345678`; foreign numbers stay E.164."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(parsed) != DEFAULT_REGION:
        return e164
    return phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL).replace(" ", "")


def mask(number: str | None) -> str | None:
    """R20: the first three and last four digits of the national number: `138****8000`."""
    if not number:
        return number
    shown = national(number) if number.startswith("+") else number
    digits = shown.lstrip("+")
    if len(digits) <= 7:
        return "*" * len(digits)
    return ("+" if shown.startswith("+") else "") + digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(name: str | None) -> str | None:
    """R20: the first character of a name, then two stars whatever its length: `S**`."""
    return f"{name.strip()[0]}**" if name and name.strip() else name
