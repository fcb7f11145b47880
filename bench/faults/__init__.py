"""The fault benchmark (R21, #15): `python -m bench.faults`."""
