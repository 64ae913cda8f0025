"""A self-signed certificate for the stand-ins' TLS endpoints.

The Google Ads SDK always opens a TLS channel, so the stand-in serves TLS and the client trusts
this certificate through gRPC's `GRPC_DEFAULT_SSL_ROOTS_FILE_PATH`. gRPC reads that file once per
process, so one certificate is made per process and reused by every stand-in it starts. Unless
it is kept in a given directory, it lives in a temporary one that is removed when the process
exits.
"""

from __future__ import annotations

import atexit
import datetime
import ipaddress
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

_lock = threading.Lock()
_cached: SandboxCert | None = None


@dataclass(frozen=True)
class SandboxCert:
    cert_pem: bytes
    key_pem: bytes
    ca_file: Path


def sandbox_cert(directory: Path | None = None) -> SandboxCert:
    """The process's sandbox certificate, made on first use (or reused from `directory`)."""
    global _cached
    with _lock:
        if _cached is None:
            _cached = _make_cert(directory)
        return _cached


def _load_cert(directory: Path) -> SandboxCert | None:
    """Reuse a certificate kept in `directory`, so workspaces pointing at it stay valid."""
    from cryptography import x509

    ca_file, key_file = directory / "sandbox-ca.pem", directory / "sandbox-key.pem"
    if not (ca_file.is_file() and key_file.is_file()):
        return None
    cert_pem = ca_file.read_bytes()
    expires = x509.load_pem_x509_certificate(cert_pem).not_valid_after_utc
    if expires - datetime.datetime.now(datetime.UTC) < datetime.timedelta(days=1):
        return None
    return SandboxCert(cert_pem=cert_pem, key_pem=key_file.read_bytes(), ca_file=ca_file)


def _make_cert(directory: Path | None) -> SandboxCert:
    if directory is not None and (kept := _load_cert(directory)) is not None:
        return kept
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "adoffboard sandbox")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    folder = directory or _temporary_folder()
    folder.mkdir(parents=True, exist_ok=True)
    ca_file = folder / "sandbox-ca.pem"
    ca_file.write_bytes(cert_pem)
    key_file = folder / "sandbox-key.pem"
    key_file.touch(mode=0o600)
    key_file.write_bytes(key_pem)
    return SandboxCert(cert_pem=cert_pem, key_pem=key_pem, ca_file=ca_file)


def _temporary_folder() -> Path:
    """A private temporary directory, removed (key included) when the process exits."""
    folder = Path(tempfile.mkdtemp(prefix="adoffboard-sandbox-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder
