"""Reply drafts on a worker: the web request records an agent's request (services), a refine
worker writes the draft with analysis/replies.py and announces it, the ticket page shows it
live and on load (selectors).

Why a worker: the provider chain took 238 s for one draft when it ran in the web request,
and its last tier may start the llama.cpp server; neither belongs in a web process.
"""

from datetime import timedelta

TASK = "analysis.tasks.write_reply_draft"
# How many drafts one agent may have queued or being written at once, and ask for a minute.
MAX_IN_FLIGHT = 1
PER_MINUTE = 5
# A draft still queued or being written after this is taken as lost (its worker died, or the
# refine backlog is too long): the page says so, the agent may ask again, and no worker
# writes it any more.
STALE_AFTER = timedelta(minutes=15)
# Drafts are a convenience, not a record: MongoDB's TTL index removes them after this.
EXPIRE_AFTER = timedelta(days=1)
