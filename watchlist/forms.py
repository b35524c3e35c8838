from django import forms


class TargetForm(forms.Form):
    """The target price of a watch: the Watch button, the watch page and a card's inline edit."""

    price_alert_threshold = forms.DecimalField(
        label="Target price",
        required=False,
        max_digits=12,
        decimal_places=2,
        help_text="Empty: tell me about any real drop.",
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "inputmode": "decimal"}),
    )

    def __init__(self, *args, prefix_id: str = "", **kwargs):
        # Many forms on one page (one per card): ids must differ.
        super().__init__(*args, auto_id=f"id_{prefix_id}%s" if prefix_id else "id_%s", **kwargs)
