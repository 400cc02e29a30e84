"""The ticket page's reply draft, read by the page's template (the ticket views do not
import the analysis stage): `{% latest_reply_draft ticket_id conversation user as draft %}`."""

from django import template

from analysis.drafts import selectors

register = template.Library()


@register.simple_tag
def latest_reply_draft(ticket_id: str, conversation: list[dict], user):
    """The user's latest draft for the ticket since its last reply, or None."""
    return selectors.latest_draft(ticket_id=ticket_id, username=user.get_username(),
                                  replied_at=selectors.last_reply_at(conversation=conversation))
