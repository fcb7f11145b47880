"""Satisfaction surveys (R17): the caller rates the call 1 to 5 after an agent call (queues that
opt in) and at the end of a complaint call-back; scores are summarised per week."""
