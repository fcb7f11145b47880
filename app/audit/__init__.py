"""The audit log (R20): who saw or changed which record, when, and why."""
