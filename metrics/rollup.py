"""Counting the event log into daily roll-ups (see `models`)."""


def roll_up(now=None) -> dict:
    return {}
