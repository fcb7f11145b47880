"""SIPp phones: callers dialling the hotline (and, later, agents' phones), for `make call`,
the tests against the real Asterisk and the benchmark."""
