"""Complaint records (R14, R15). Today: what the IVR needs (an open complaint by caller, the
status by number); the complaint workflow with its deadlines builds on this table."""
