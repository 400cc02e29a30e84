"""Small builders for test CSVs in the two shared formats."""

TWCS_HEADER = ",tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
FR_HEADER = "tweet_id,author,text,date,url\n"


def twcs_row(index, tweet_id, author, inbound, text, *, responses="", reply_to="", minute=0, created=None):
    created = created or f"Tue Oct 31 10:{minute:02d}:00 +0000 2017"
    return f'{index},{tweet_id},{author},{inbound},{created},"{text}","{responses}",{reply_to}\n'


def twcs_csv(*rows):
    return TWCS_HEADER + "".join(rows)
