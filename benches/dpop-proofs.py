"""Writes N DPoP proofs (RFC 9449) for POST <htu>, one per line, all by one
new key (P-256 for ES256, the default, or Ed25519 for EdDSA) and all with
iat = now: the load generator then sends them without doing any
cryptography itself.

Usage: python3 benches/dpop-proofs.py HTU N [ES256|EdDSA] > proofs.txt
Needs the `cryptography` package (benches/bench-token installs it in a
virtual environment when it is missing).
"""

import base64
import json
import os
import sys
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def es256_signer():
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64(numbers.x.to_bytes(32, "big")),
        "y": b64(numbers.y.to_bytes(32, "big")),
    }

    def sign(data: bytes) -> bytes:
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    return jwk, sign


def eddsa_signer():
    key = ed25519.Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64(raw)}, key.sign


def main() -> None:
    htu, count = sys.argv[1], int(sys.argv[2])
    alg = sys.argv[3] if len(sys.argv) > 3 else "ES256"
    jwk, sign = {"ES256": es256_signer, "EdDSA": eddsa_signer}[alg]()
    header = b64(compact({"typ": "dpop+jwt", "alg": alg, "jwk": jwk}))
    iat = int(time.time())
    prefix = os.urandom(6).hex()
    out = sys.stdout
    for i in range(count):
        claims = b64(compact({"jti": f"{prefix}-{i:x}", "htm": "POST", "htu": htu, "iat": iat}))
        signing_input = f"{header}.{claims}"
        out.write(f"{signing_input}.{b64(sign(signing_input.encode()))}\n")


if __name__ == "__main__":
    main()
