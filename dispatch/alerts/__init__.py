"""Alerts: partner intake, resolution to a station, the append-only timeline, working an alert."""
