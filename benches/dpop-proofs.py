"""Writes N DPoP proofs (RFC 9449) for POST <htu>, one per line, all by one
new P-256 key and all with iat = now: the load generator then sends them
without doing any cryptography itself.

Usage: python3 benches/dpop-proofs.py HTU N > proofs.txt
Needs the `cryptography` package (benches/bench-token installs it in a
virtual environment when it is missing).
"""

import base64
import json
import os
import sys
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def main() -> None:
    htu, count = sys.argv[1], int(sys.argv[2])
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64(numbers.x.to_bytes(32, "big")),
        "y": b64(numbers.y.to_bytes(32, "big")),
    }
    header = b64(compact({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}))
    iat = int(time.time())
    prefix = os.urandom(6).hex()
    out = sys.stdout
    for i in range(count):
        claims = b64(compact({"jti": f"{prefix}-{i:x}", "htm": "POST", "htu": htu, "iat": iat}))
        signing_input = f"{header}.{claims}"
        der = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        out.write(f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}\n")


if __name__ == "__main__":
    main()
