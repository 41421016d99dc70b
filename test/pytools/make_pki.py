"""Makes a small X.509 PKI for the signing tests with the `cryptography` package that
model-signing itself uses: reads a JSON list of certificates to issue on stdin, writes
<name>.key.pem and <name>.cert.pem for each into the directory given as argv[1].

Each entry: name, issuer (a previous name, or null for self-signed), ca (bool),
not_before / not_after (seconds relative to now), optional email / uri (SAN) and
oidc_issuer (Fulcio's issuer extension, 1.3.6.1.4.1.57264.1.8), curve (P-256 default).
"""
import datetime
import json
import pathlib
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CURVES = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1()}
OIDC_ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")


def der_utf8(text):
    raw = text.encode("utf-8")
    assert len(raw) < 128
    return bytes([0x0C, len(raw)]) + raw


def issue(spec, issued, out):
    key = ec.generate_private_key(CURVES[spec.get("curve", "P-256")])
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, spec["name"]),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "modelchain tests")])
    issuer = issued.get(spec.get("issuer"))
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(name)
               .issuer_name(issuer[1].subject if issuer else name)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now + datetime.timedelta(seconds=spec["not_before"]))
               .not_valid_after(now + datetime.timedelta(seconds=spec["not_after"]))
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False))
    signer = issuer[0] if issuer else key
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), False)
    if spec.get("ca"):
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), True)
    else:
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), True)
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), False)
    sans = [x509.RFC822Name(spec["email"])] if "email" in spec else []
    sans += [x509.UniformResourceIdentifier(spec["uri"])] if "uri" in spec else []
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), True)
    if "oidc_issuer" in spec:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(OIDC_ISSUER_V2, der_utf8(spec["oidc_issuer"])), False)
    cert = builder.sign(signer, hashes.SHA256())
    (out / f"{spec['name']}.key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (out / f"{spec['name']}.cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    issued[spec["name"]] = (key, cert)


def main():
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    issued = {}
    for spec in json.load(sys.stdin):
        issue(spec, issued, out)


if __name__ == "__main__":
    main()
