"""The agent desktop (R3, R6, R14): the page agents work from, their state, the screen pop
pushed over a WebSocket while the phone rings, dispositions and complaint intake."""
