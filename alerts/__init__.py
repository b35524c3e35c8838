"""Deal alert rules and the matcher (filled by the rules issue)."""
