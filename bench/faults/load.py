"""The fault benchmark's phones: bench/acd's callers and agents' UAS, each call written to SIPp's
log so that it can be followed by the caller's number (`bench.faults.figures`)."""

from __future__ import annotations

from pathlib import Path

from bench.acd.phones import AgentPhones

_ACK = '<recv request="ACK" crlf="true"/>'


class LoggedAgents(AgentPhones):
    """All agents' phones in one SIPp UAS, logging `agent|<time>|<From>` when a call they
    answered is confirmed (the ACK), the From carrying the caller's number (R3). A call left
    without its BYE (Asterisk killed under it) is given up after two minutes."""

    def scenario(self) -> str:
        text = super().scenario()
        if _ACK not in text:
            raise RuntimeError("the agents' scenario changed: no ACK to mark the answer on")
        return text.replace(_ACK, '<recv request="ACK" crlf="true"><action>'
                                  '<log message="agent|[timestamp]|[last_From:]"/>'
                                  '</action></recv>', 1)

    def extra_args(self) -> list[str]:
        return ["-trace_logs", "-recv_timeout", "120000"]

    def logs(self) -> str:
        return "".join(p.read_text(errors="replace")
                       for p in Path(self._tmp.name).glob("*_logs.log"))
