"""Signed OTA requests for the tests (tests/tools and tests/hardware): the KitOTA scheme as
tools/device/ota.py builds it, over a fresh nonce from the board's GET /ota/nonce."""
from urllib.parse import urlsplit

import requests

from tools.device import ota as O


def nonce(base_url):
    """A fresh nonce from the board at ``base_url`` (http://host:port)."""
    with requests.Session() as s:
        s.trust_env = False  # the board is on the local network, never behind a proxy
        r = s.get(base_url + "/ota/nonce", timeout=10)
    assert r.status_code == 200, (r.status_code, r.text)
    return r.json()["nonce"]


def headers(base_url, token, method, target, body=b"", fresh=None):
    """{"Authorization": ...} for one request; ``fresh`` a nonce to use instead of a new one."""
    n = fresh or nonce(base_url)
    return {"Authorization": O.authorization(token, method, target, n, body or b"")}


class Signed(requests.auth.AuthBase):
    """``auth=Signed(token)`` for requests: every request signed over its own nonce."""

    def __init__(self, token):
        self.token = token

    def __call__(self, r):
        parts = urlsplit(r.url)
        body = r.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        r.headers.update(headers("%s://%s" % (parts.scheme, parts.netloc), self.token, r.method,
                                 r.path_url, body))
        return r
