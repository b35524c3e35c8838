from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models
from timezone_field import TimeZoneField

from .geo import lookup_zip


def validate_us_zip(value: str) -> None:
    if value and lookup_zip(value) is None:
        raise ValidationError("Enter a known 5-digit US ZIP code.", code="unknown_zip")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A shopper (or staff member) who signs in with an email address."""

    username = None
    email = models.EmailField("email address", unique=True)
    time_zone = TimeZoneField(default="UTC", help_text="IANA time zone; quiet hours and digests follow it.")
    home_zip = models.CharField(
        "home ZIP code",
        max_length=5,
        blank=True,
        validators=[validate_us_zip],
        help_text="Used for distances when an alert names a radius but no location.",
    )
    # Set when the user follows the link we emailed; until then no alert goes to the address.
    email_confirmed_at = models.DateTimeField(null=True, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    def __str__(self) -> str:
        return self.email
