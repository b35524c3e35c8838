"""Watched listings and price-drop alerts (filled by a later issue)."""
