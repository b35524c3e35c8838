"""Phone numbers for SMS: what a user types, turned into E.164, and shown masked to everyone else.

`phonenumbers` (Google's libphonenumber metadata) parses and classifies numbers. Only numbers of
the countries in SMS_ALLOWED_COUNTRIES that can take an SMS are accepted: premium-rate, toll-free
and other-country numbers are how SMS-pumping fraud bills a sender, so they never get a code.
The library cannot tell a US or Canadian landline from a mobile (both come back
FIXED_LINE_OR_MOBILE); Twilio's 21614 answer ("not a mobile number") marks those when first texted.
"""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType, geocoder

MAX_INPUT_LENGTH = 32  # the longest E.164 number is 16 characters; room for spaces, dashes and brackets
MASK = "•••"

MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
REFUSED_TYPES = {
    PhoneNumberType.PREMIUM_RATE: "Premium-rate numbers cannot receive alerts. Enter a mobile number.",
    PhoneNumberType.TOLL_FREE: "Toll-free numbers cannot receive text alerts. Enter a mobile number.",
    PhoneNumberType.SHARED_COST: "Shared-cost numbers cannot receive alerts. Enter a mobile number.",
    PhoneNumberType.FIXED_LINE: "That is a landline, which cannot receive texts. Enter a mobile number.",
    # Internet numbers are handed out in bulk, which is what SMS-pumping fraud needs.
    PhoneNumberType.VOIP: "Internet (VoIP) numbers cannot receive alerts. Enter a mobile number.",
}


# How a sentence names a country where the library's English name ("United States") reads badly after "in".
SHORT_NAMES = {"US": "the US", "GB": "the UK", "AE": "the UAE", "NL": "the Netherlands", "PH": "the Philippines"}


def allowed_countries() -> list[str]:
    return list(settings.SMS_ALLOWED_COUNTRIES)


def _example(region: str) -> phonenumbers.PhoneNumber | None:
    return phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE) or phonenumbers.example_number(region)


def what_to_enter() -> str:
    """'Enter a mobile number in the US or Canada, like +1 201-555-0123.' for the allowed countries."""
    regions = allowed_countries()
    names = [
        SHORT_NAMES.get(region) or geocoder.country_name_for_number(example, "en") or region
        for region in regions
        if (example := _example(region))
    ]
    if not names:  # SMS_ALLOWED_COUNTRIES is empty (or names none the library knows): no number is accepted
        return "Texts are not offered on this site."
    places = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    first = _example(regions[0]) if regions else None
    like = f", like {phonenumbers.format_number(first, PhoneNumberFormat.INTERNATIONAL)}" if first else ""
    return f"Enter a mobile number in {places}{like}."


def parse_mobile(raw: str) -> str:
    """The number in E.164 (`+12015550123`), or `ValidationError` saying what would be accepted.

    National format is read as a number of the first allowed country; any other country needs
    its "+" (or the first country's international prefix).
    """
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationError(what_to_enter(), code="empty")
    text = raw.strip()
    if len(text) > MAX_INPUT_LENGTH:
        raise ValidationError(f"That is too long for a phone number. {what_to_enter()}", code="too_long")
    if any(ch.isalpha() for ch in text):
        # phonenumbers would read letters as a keypad's (1-800-FLOWERS); a mobile number has none.
        raise ValidationError(f"A phone number has digits only. {what_to_enter()}", code="letters")
    regions = allowed_countries()
    try:
        number = phonenumbers.parse(text, regions[0] if regions else None)
    except NumberParseException:
        raise ValidationError(f"That is not a phone number. {what_to_enter()}", code="invalid") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(f"That is not a valid phone number. {what_to_enter()}", code="invalid")
    if phonenumbers.region_code_for_number(number) not in regions:
        raise ValidationError(f"Alerts cannot be texted to that country. {what_to_enter()}", code="country")
    kind = phonenumbers.number_type(number)
    if kind in REFUSED_TYPES:
        raise ValidationError(REFUSED_TYPES[kind], code="not_mobile")
    if kind not in MOBILE_TYPES:
        raise ValidationError(f"That number cannot receive texts. {what_to_enter()}", code="not_mobile")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """`+12015550123` → `+1 •••-•••-0123`, `+447911123456` → `+44 ••••••-3456`: for anyone but its owner.

    The country code comes from the library's metadata, so no list of code lengths is kept here.
    """
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return f"{MASK}-{e164[-4:]}"
    national = phonenumbers.national_significant_number(number)
    if number.country_code == 1 and len(national) == 10:
        return f"+1 {MASK}-{MASK}-{national[-4:]}"
    return f"+{number.country_code} {'•' * max(len(national) - 4, 3)}-{national[-4:]}"
