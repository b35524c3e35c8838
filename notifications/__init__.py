"""Preferences, channels, the delivery policy, outbox, digests (filled by the notifications issue)."""
