"""Personalized deal recommendations (filled by a later issue)."""
