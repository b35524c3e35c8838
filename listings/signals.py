from django.dispatch import Signal

# Sent by the worker after an ingest batch commits, with `created`, `repriced` and `deactivated`
# (lists of listing ids; deactivated: reported sold or removed). The matcher and the watchlist subscribe here, so the
# listings app never imports the apps above it.
listings_ingested = Signal()

# Sent after the hourly re-scoring with `raised`: ids of listings whose deal score went up, which
# may now pass a rule's minimum score.
listings_rescored = Signal()
