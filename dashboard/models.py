"""KPI rollups (MongoDB): thin data, written by dashboard/services.py."""

import mongoengine as me


class KpiBucket(me.Document):
    """One day ("d") or hour ("h") of figures, by when the customer wrote.

    `cells` maps "team|topic|sentiment|urgency|language" to counters (tickets, open,
    resolved, breached, corrected, responded, response_s, resolution_s, provider:<tier>); `tweets` maps
    "language|customer" or "language|brand" to the tweets stored.
    """

    id = me.StringField(primary_key=True)  # "d:2017-10-31T00" or "h:2017-10-31T10"
    grain = me.StringField(required=True, choices=("d", "h"))
    start = me.DateTimeField(required=True)
    cells = me.DictField()
    tweets = me.DictField()

    meta = {"collection": "kpi_buckets", "indexes": [{"fields": ["grain", "start"]}]}
