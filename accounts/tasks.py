from anymail.exceptions import AnymailRequestsAPIError
from celery import shared_task

from . import confirmation


@shared_task(
    name="accounts.send_confirmation_email",
    acks_late=True,
    # What `confirmation.send_email` lets through is worth another try (it turns a refused address
    # or a 5xx into `EmailRefused`): 30 s, 1 min, 2 min, … up to 30 min apart, eight times.
    autoretry_for=(OSError, AnymailRequestsAPIError),
    max_retries=8,
    retry_backoff=30,
    retry_backoff_max=1800,
    retry_jitter=True,
)
def send_confirmation_email(user_id: int) -> bool:
    """Email a confirmation link to the user's current address (nothing when it is confirmed)."""
    return confirmation.send_email(user_id)
