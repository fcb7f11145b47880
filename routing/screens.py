"""What the ACD tells agents' screens, as a port: routing knows no `app.desk`.

The ACD calls `agent_state` on every change of an agent's state (and the wrap-up timer, R13);
`app.desk.notifier.DeskNotifier` satisfies the protocol structurally and the composition root
passes it in. The call must not block or fail the ACD: it runs under the ACD's lock (R21).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol


class AgentScreens(Protocol):
    def agent_state(self, agent_id: uuid.UUID, *, state: str, reason: str | None,
                    since: datetime, wrap_up_until: datetime | None,
                    call_id: uuid.UUID | None) -> None:
        """The agent's state changed: show it (and, in wrap_up, when it ends)."""
