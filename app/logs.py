"""Structured logs (structlog over stdlib logging). `structlog.contextvars.bind_contextvars(
call_id=...)` inside a call's handler puts the call id on every line logged about that call.

R20 (#20): a customer's number or name never reaches a log line whole: the values of the keys
in `CUSTOMER_NUMBER_KEYS` and `CUSTOMER_NAME_KEYS` are masked (138****5678, S**) on every line."""

from __future__ import annotations

import logging
import sys

import structlog

from app.customers.numbers import mask, mask_name

CUSTOMER_NUMBER_KEYS = frozenset({"caller", "caller_number", "customer_number", "number", "dial",
                                  "phone", "customer_phone"})
CUSTOMER_NAME_KEYS = frozenset({"caller_name", "customer_name"})


def mask_customer_data(_logger: object, _method: str, event: dict) -> dict:
    """The structlog processor masking customers' numbers and names (by key)."""
    for key in CUSTOMER_NUMBER_KEYS & event.keys():
        if isinstance(event[key], str):
            event[key] = mask(event[key])
    for key in CUSTOMER_NAME_KEYS & event.keys():
        if isinstance(event[key], str):
            event[key] = mask_name(event[key])
    return event


def configure(*, level: str = "INFO", fmt: str = "console") -> None:
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        mask_customer_data,
    ]
    renderer = (structlog.processors.JSONRenderer(ensure_ascii=False) if fmt == "json"
                else structlog.dev.ConsoleRenderer(colors=False))
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, renderer],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "websockets", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
