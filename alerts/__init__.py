"""Alerts: events found in the data, and the messages they make (alerts/models.py)."""
