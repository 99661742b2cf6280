"""A board's own TLS certificate, and pinning it: ``make cert CERT=certs/<name>``.

HTTPS on the board is opt-in: ``make cert`` writes a per-board EC P-256 key and a self-signed
certificate (Python's ``cryptography``) into a folder (default ``certs/board``; ``certs/`` is
git-ignored: a key must never be committed)::

    certs/kitchen/key.der      the private key (PKCS#8 DER) - it goes to the board over USB (or pinned HTTPS)
    certs/kitchen/cert.der     the certificate (DER)
    certs/kitchen/cert.sha256  the SHA-256 of cert.der in hex: the pin

``make deploy CERT=...`` / ``make wifi CERT=...`` copy cert.der and key.der to the board's
``/cert.der`` and ``/key.der`` over USB (``make ota ... NEWCERT=`` replaces them later over
pinned HTTPS only: :func:`pair`, tools/device/ota.py); the kit then serves HTTPS (``app.run(ssl=kitnet.tls())``,
src/kit/kitnet.py). The PC side trusts no certificate authority: ``make ota``, ``make logs``
and ``make test-hw`` with ``CERT=`` (or ``PIN=<sha256>``) compare the SHA-256 of the
certificate the board presents (its DER) with the pin and refuse any other, before a byte of
the request is sent (:class:`PinnedHTTPSConnection`, :func:`check_peer`).
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import http.client
import re
import socket
import ssl
import sys
from pathlib import Path
from typing import Optional, Sequence, Tuple

from tools.selection import boards as B

ROOT = B.ROOT
CERTS = ROOT / "certs"
DEFAULT = CERTS / "board"
CERT, KEY, PIN = "cert.der", "key.der", "cert.sha256"
BOARD_CERT, BOARD_KEY = "cert.der", "key.der"  # their names in the board's filesystem root (kitnet.CERT/KEY)
DAYS = 3650


class CertError(Exception):
    """A certificate or pinning problem, as one sentence saying what to do."""


def pin_of(der: bytes) -> str:
    """The pin of a certificate: the SHA-256 of its DER bytes, lowercase hex."""
    return hashlib.sha256(der).hexdigest()


def make(folder: Path, name: str = "", days: int = DAYS, force: bool = False) -> str:
    """Write key.der, cert.der and cert.sha256 into ``folder``; return the pin.

    A folder that already holds a key is left alone unless ``force`` (a new key is a new pin:
    every client pinning the old one then refuses the board)."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        raise CertError("Python's cryptography package is missing: run `make setup` (or pip install cryptography).")
    folder = Path(folder)
    if (folder / KEY).exists() and not force:
        raise CertError("%s already holds a key (pin %s): pass FORCE=1 to replace it (clients pinning "
                        "the old certificate will refuse the board until given the new pin)."
                        % (folder, read_pin(folder)))
    name = name or folder.name
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    der = cert.public_bytes(serialization.Encoding.DER)
    folder.mkdir(parents=True, exist_ok=True)
    key_path = folder / KEY
    key_path.write_bytes(key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    (folder / CERT).write_bytes(der)
    pin = pin_of(der)
    (folder / PIN).write_text(pin + "\n")
    return pin


def files(folder) -> Tuple[bytes, bytes]:
    """(cert.der, key.der) of a folder made by :func:`make`, for the board."""
    folder = Path(folder)
    try:
        return (folder / CERT).read_bytes(), (folder / KEY).read_bytes()
    except OSError:
        raise CertError("%s holds no cert.der and key.der: make them with `make cert CERT=%s`." % (folder, folder))


def pair(folder) -> Tuple[bytes, bytes]:
    """(cert.der, key.der) of ``folder`` once they are checked to be a pair the board takes: an
    EC P-256 key whose public key is the certificate's (what ``make ota NEWCERT=`` sends; the
    board checks it again, src/kit/kitota.py new_cert)."""
    der, key = files(folder)
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import load_der_private_key
    except ImportError:
        return der, key  # the board's own check stays
    try:
        k = load_der_private_key(key, None)
        c = x509.load_der_x509_certificate(der)
        ok = isinstance(k, ec.EllipticCurvePrivateKey) and isinstance(k.curve, ec.SECP256R1) and \
            c.public_key().public_numbers() == k.public_key().public_numbers()
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise CertError("%s/%s and %s are not an EC P-256 key and its certificate: make a pair with "
                        "`make cert CERT=%s FORCE=1`." % (folder, KEY, CERT, folder))
    return der, key


def read_pin(spec) -> str:
    """The pin from ``spec``: 64 hex digits, a folder made by :func:`make`, a cert.sha256 or a
    certificate file (DER or PEM)."""
    text = str(spec).strip()
    if re.fullmatch(r"[0-9a-fA-F]{64}", text.replace(":", "")):
        return text.replace(":", "").lower()
    path = Path(text)
    if path.is_dir():
        path = path / CERT if (path / CERT).is_file() else path / PIN
    try:
        data = path.read_bytes()
    except OSError:
        raise CertError("No certificate at %s: pass CERT= with a folder made by `make cert` or "
                        "PIN= with 64 hex digits." % text)
    if path.name.endswith(".sha256"):
        return read_pin(data.decode("ascii", "replace").split()[0] if data.strip() else "-")
    if data.lstrip().startswith(b"-----BEGIN"):
        data = ssl.PEM_cert_to_DER_cert(data.decode("ascii", "replace"))
    return pin_of(data)


def client_context() -> ssl.SSLContext:
    """A TLS client context that trusts no authority: the pin is the only check (self-signed)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def mismatch(got: str, pin: str, where: str) -> str:
    return ("The board's certificate at %s is not the pinned one (sha256 %s, pinned %s): if it was "
            "given a new one with make cert, pass CERT= with that folder (or PIN=); otherwise "
            "something else answers at that address." % (where, got, pin))


def check_peer(sock: ssl.SSLSocket, pin: str, where: str) -> str:
    """Raise CertError unless the TLS peer's certificate has the SHA-256 ``pin``; return it."""
    der = sock.getpeercert(binary_form=True)
    got = pin_of(der) if der else "(none)"
    if got != pin:
        raise CertError(mismatch(got, pin, where))
    return got


def wrap(sock: socket.socket, pin: str, where: str) -> ssl.SSLSocket:
    """TLS over a connected socket, checked against ``pin`` before it is handed back."""
    tls = client_context().wrap_socket(sock)
    try:
        check_peer(tls, pin, where)
    except CertError:
        tls.close()
        raise
    return tls


def connect(host: str, port: int, pin: str, timeout: float = 10.0) -> ssl.SSLSocket:
    """A pinned TLS connection to host:port."""
    return wrap(socket.create_connection((host, port), timeout=timeout), pin, "%s:%d" % (host, port))


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """http.client's HTTPS connection that refuses a server whose certificate is not the pin,
    right after the handshake (before the request is sent). Raises CertError."""

    def __init__(self, host: str, port: int, pin: str, timeout: float = 15.0):
        super().__init__(host, port, timeout=timeout, context=client_context())
        self.pin = pin

    def connect(self) -> None:
        super().connect()
        try:
            check_peer(self.sock, self.pin, "%s:%d" % (self.host, self.port))
        except CertError:
            self.close()
            raise


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.device.cert", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(DEFAULT.relative_to(ROOT)),
                        help="folder for key.der, cert.der, cert.sha256 (CERT=; default certs/board)")
    parser.add_argument("--name", default="", help="the certificate's common name (default: the folder's name)")
    parser.add_argument("--days", type=int, default=DAYS, help="validity in days (default %d)" % DAYS)
    parser.add_argument("--force", action="store_true", help="replace an existing key (FORCE=1): a new pin")
    parser.add_argument("--pin", action="store_true", help="only print the pin of --out's certificate")
    args = parser.parse_args(argv)
    try:
        if args.pin:
            print(read_pin(args.out))
            return 0
        pin = make(Path(args.out), args.name, args.days, args.force)
    except CertError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    print("wrote %s/{%s,%s,%s} (EC P-256, self-signed, %d days)" % (args.out, KEY, CERT, PIN, args.days))
    print("pin (sha256 of cert.der): %s" % pin)
    print("put it on the board with `make deploy CERT=%s` (or `make wifi ... CERT=%s`); then "
          "`make ota DEVICE=https://<board-ip>:5000 CERT=%s ...`" % (args.out, args.out, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
