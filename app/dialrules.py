"""Where the hotline may send a call (#20, R20): no diversion of customers' calls, no dial fraud.

An agent's contact phone is a SIP URI the ACD dials through the trunk: its host must be an IP
address on one of the networks the agents' phones are on (`HOTLINE_AGENT_PHONE_NETWORKS`), never a
name (a name can point anywhere later) nor an address outside. A call-back dials a customer's
number: its E.164 form must match one of the outbound patterns (`HOTLINE_OUTBOUND_NUMBERS`), so
premium, international or made-up numbers are refused before anything rings.

Outbound patterns are Asterisk's dialplan patterns over the E.164 number: `X` any digit, `Z` 1-9,
`N` 2-9, `[1-5]` or `[137]` one of those, `.` one or more of anything more; digits and `+` stand
for themselves (`+861[3-9]XXXXXXXXX`: mainland mobiles). Pure: data in, a refusal or None out.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from functools import lru_cache

from app.config import NUMBER_PATTERN
from app.customers.numbers import normalise
from app.errors import AppError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_SIP_HOST = re.compile(r"^sips?:[^@\s]+@(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+)(:\d{1,5})?$")


class ContactNotAllowed(AppError):
    status_code = 422
    error_id = "contact-not-allowed"
    message = "an agent's contact must be a SIP URI at an IP address on the agents' phone networks"


class NumberNotAllowed(AppError):
    status_code = 422
    error_id = "number-not-allowed"
    message = "this number may not be dialled: it matches none of the outbound number patterns"


@lru_cache(maxsize=64)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """An Asterisk-style pattern as a regular expression over the whole E.164 number."""
    if not re.fullmatch(NUMBER_PATTERN, pattern):
        raise ValueError(f"not a number pattern: {pattern!r} (digits, +, X, Z, N, [1-5], .)")
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "[":
            end = pattern.index("]", i)
            out.append(pattern[i:end + 1])
            i = end + 1
            continue
        out.append({"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "+": r"\+"}.get(ch, ch))
        i += 1
    return re.compile("".join(out))


def contact_refusal(contact: str, allowed: Iterable[Network]) -> str | None:
    """Why the ACD may not dial this contact URI, or None when its host is on an allowed network."""
    match = _SIP_HOST.match(contact)
    if match is None:
        return "not a SIP URI (sip:user@host[:port])"
    host = match.group(1).strip("[]")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"the host {host!r} is a name, not an IP address"
    if not any(address in net for net in allowed):
        return f"{address} is on none of the agents' phone networks"
    return None


def number_refusal(number: str | None, patterns: Iterable[str]) -> str | None:
    """Why a call-back may not dial this number, or None when its E.164 form matches a pattern."""
    e164 = normalise(number)
    if e164 is None:
        return "not a phone number"
    if not any(compile_pattern(p).fullmatch(e164) for p in patterns):
        return "matches none of the outbound number patterns"
    return None


def check_contact(contact: str | None, allowed: Iterable[Network]) -> None:
    """422 `contact-not-allowed` unless the contact may be dialled (None: no contact phone)."""
    if contact is not None and (why := contact_refusal(contact, allowed)) is not None:
        raise ContactNotAllowed(details_message(ContactNotAllowed.message, why))


def check_number(number: str | None, patterns: Iterable[str]) -> None:
    """422 `number-not-allowed` unless a call-back may dial the number."""
    if (why := number_refusal(number, patterns)) is not None:
        raise NumberNotAllowed(details_message(NumberNotAllowed.message, why))


def details_message(general: str, why: str) -> str:
    return f"{general} ({why})"
