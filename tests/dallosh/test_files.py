"""sha256_of (dallosh/files.py): the hex digest of a file's bytes, read in blocks, so that a
file of gigabytes is hashed without being held in memory."""

import hashlib

import pytest

from dallosh.files import sha256_of

pytestmark = pytest.mark.no_servers


def test_a_files_digest_is_the_sha256_of_its_bytes_whatever_its_size(tmp_path):
    small = tmp_path / "abc.csv"
    small.write_bytes(b"abc")
    # The FIPS 180-2 test vector for "abc".
    assert sha256_of(small) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert sha256_of(str(small)) == sha256_of(small)  # a path given as text
    big = tmp_path / "big.csv"
    content = b"tweet_id,text\n" + b"1,my fibre is down\n" * 200_000  # several read blocks
    big.write_bytes(content)
    assert sha256_of(big) == hashlib.sha256(content).hexdigest()
