"""Manager reports (R18, R19): call volume, abandonment, service level, answer speed, three-ring
compliance, workload by call type, agents. `definitions.py` says exactly how each figure is
computed (pure); `queries.py` computes the same in Postgres; `api.py` serves them (JSON, CSV)."""
