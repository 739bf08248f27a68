"""Make a cluster's TLS credentials; also run by path as a child process.

Run as a script, it prints the PEM key and certificate on stdout (exit status 3
without ``cryptography``). It imports nothing but the standard library and
``cryptography``, so the child starts in about 0.1 s and the caller never loads
``cryptography`` itself; see :func:`acme.cluster._security.prepare_credentials`.
"""

from __future__ import annotations

import datetime
import sys

NAME = "acme-cluster"  # subject of the certificates
_NO_CRYPTOGRAPHY = 3  # exit status of the script without ``cryptography``
_END = "-----END PRIVATE KEY-----\n"


def make() -> tuple[str, str] | None:
    """A new PEM key and self-signed certificate; None without ``cryptography``."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        return None
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))  # clock skew
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(NAME)]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem_key, certificate.public_bytes(serialization.Encoding.PEM).decode()


def split(printed: str) -> tuple[str, str] | None:
    """The key and certificate in what the script printed; None if malformed."""
    key, end, certificate = printed.partition(_END)
    if not end or "-----BEGIN CERTIFICATE-----" not in certificate:
        return None
    return key + end, certificate


def main() -> int:
    """Print new credentials (key, then certificate) on stdout."""
    pem = make()
    if pem is None:
        return _NO_CRYPTOGRAPHY
    sys.stdout.write("".join(pem))
    return 0


if __name__ == "__main__":
    sys.exit(main())
