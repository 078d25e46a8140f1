"""crisis-dispatch: crisis-alert intake, routing, live consoles and escalation for police."""

__version__ = "0.1.0"
