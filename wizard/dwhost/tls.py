"""Self-signed certificates for the local server, and checks of an operator's pair.

A self-signed certificate gives encryption: Supabase connects with sslmode=require (the
channel is encrypted, the server is not authenticated). verify-full needs a certificate from a
public CA for the DW's public DNS name; the `provided` mode takes such a pair.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.errors import StepError
from wizard.i18n import Message

if TYPE_CHECKING:
    from cryptography import x509

VALID_DAYS = 825  # the longest lifetime clients commonly accept for a server certificate


@dataclass
class CertInfo:
    subject: str
    not_after: datetime
    self_signed: bool
    names: list[str]

    @property
    def expires_in_days(self) -> int:
        return (self.not_after - datetime.now(UTC)).days


def generate_self_signed(host_names: list[str]) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) for ``host_names`` (DNS names or IP addresses)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    names = [n for n in dict.fromkeys(host_names) if n] or ["localhost"]
    alt: list[x509.GeneralName] = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0][:64])])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),  # the server must read it unattended at start
    )
    return cert_pem, key_pem


def inspect_pair(cert_path: Path, key_path: Path) -> CertInfo:
    """Parse both files and prove the key belongs to the certificate, or raise StepError."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError) as exc:
        raise StepError(
            Message("tls.bad_cert", {"path": str(cert_path), "detail": str(exc)}),
            Message("tls.bad_cert.fix"),
        ) from None
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise StepError(
            Message("tls.bad_key", {"path": str(key_path), "detail": str(exc)}),
            Message("tls.bad_key.fix"),
        ) from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(
        serialization.Encoding.DER, public
    ) != cert.public_key().public_bytes(serialization.Encoding.DER, public):
        raise StepError(
            Message("tls.mismatch", {"cert": str(cert_path), "key": str(key_path)}),
            Message("tls.mismatch.fix"),
        )
    return CertInfo(
        subject=cert.subject.rfc4514_string(),
        not_after=cert.not_valid_after_utc,
        self_signed=cert.issuer == cert.subject,
        names=cert_names(cert),
    )


def cert_names(cert: x509.Certificate) -> list[str]:
    """The DNS names and IP addresses of the certificate's subjectAltName (none: empty)."""
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(n.value) for n in san]
