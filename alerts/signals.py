from django.dispatch import Signal

# Sent after a batch's new matches commit, once per user: `user_id`, `matches`
# (DealAlertMatch rows, with rule_id, listing_id and why). Notifications subscribe.
deals_matched = Signal()
