"""Times as staff read them: in the site's time zone, with the zone's abbreviation, so that a
supervisor comparing with a gateway's report, a caller or a log never guesses the zone."""

from datetime import datetime

from django.utils import dateformat, timezone


def when(moment: datetime | None) -> str:
    """`moment` in the site's time zone, with the zone's abbreviation ("4 Mar 2026, 09:30 UTC"),
    or "—" when there is none."""
    if moment is None:
        return "—"
    return dateformat.format(timezone.localtime(moment), "j M Y, H:i T")
