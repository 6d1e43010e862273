"""Content negotiation: DRF's, with an unknown ``?format=`` answered 400, not 404."""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation

from streams.exceptions import ValidationError


class ContentNegotiation(DefaultContentNegotiation):
    def filter_renderers(self, renderers, format):
        matching = [r for r in renderers if r.format == format]
        if not matching:
            formats = " or ".join(repr(r.format) for r in renderers)
            raise ValidationError("format", f"must be {formats}")
        return matching
