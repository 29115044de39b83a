"""A stand-in for AWS KMS's secp256k1 signing, for tests of our KMS signer.

moto's KMS hashes a DIGEST message again before signing, so a signature from it never
verifies over the digest we sent and cannot check our signer. This server speaks the real
KMS wire protocol (JSON 1.1, `X-Amz-Target: TrentService.<Action>`), so the real boto3
client talks to it, and signs the digest as given, as KMS does.

    with KmsStandIn() as kms_server:
        kms = kms_server.client()
        key_id = kms.create_key(KeySpec="ECC_SECG_P256K1", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

REGION = "us-east-1"
ACCOUNT = "000000000000"


class KmsFault(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class KmsStandIn:
    """A threaded HTTP server holding secp256k1 keys by key id."""

    def __init__(self) -> None:
        self.keys: dict[str, ec.EllipticCurvePrivateKey] = {}
        self.sign_calls = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> KmsStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def client(self) -> Any:
        """A real boto3 KMS client pointed at this server, with dummy credentials."""
        import boto3

        return boto3.client("kms", endpoint_url=self.url, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def add_key(self, key: ec.EllipticCurvePrivateKey | None = None) -> str:
        key_id = str(uuid.uuid4())
        self.keys[key_id] = key or ec.generate_private_key(ec.SECP256K1())
        return key_id

    # -- actions: request JSON in, response JSON out ------------------------------------
    def _key(self, request: dict) -> tuple[str, ec.EllipticCurvePrivateKey]:
        key_id = str(request.get("KeyId", "")).rsplit("/", 1)[-1]
        if key_id not in self.keys:
            raise KmsFault("NotFoundException", f"Key '{request.get('KeyId')}' does not exist")
        return key_id, self.keys[key_id]

    def CreateKey(self, request: dict) -> dict:
        if request.get("KeySpec") != "ECC_SECG_P256K1" or request.get("KeyUsage") != "SIGN_VERIFY":
            raise KmsFault("UnsupportedOperationException", "only ECC_SECG_P256K1 SIGN_VERIFY keys")
        key_id = self.add_key()
        return {"KeyMetadata": {"KeyId": key_id, "Arn": _arn(key_id), "KeySpec": "ECC_SECG_P256K1",
                                "KeyUsage": "SIGN_VERIFY", "Enabled": True, "KeyState": "Enabled",
                                "SigningAlgorithms": ["ECDSA_SHA_256"], "AWSAccountId": ACCOUNT}}

    def GetPublicKey(self, request: dict) -> dict:
        key_id, key = self._key(request)
        der = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        return {"KeyId": _arn(key_id), "PublicKey": base64.b64encode(der).decode(),
                "KeySpec": "ECC_SECG_P256K1", "KeyUsage": "SIGN_VERIFY",
                "SigningAlgorithms": ["ECDSA_SHA_256"]}

    def Sign(self, request: dict) -> dict:
        key_id, key = self._key(request)
        if request.get("SigningAlgorithm") != "ECDSA_SHA_256":
            raise KmsFault("KMSInvalidSigningAlgorithmException", "ECDSA_SHA_256 only")
        message = base64.b64decode(request["Message"])
        if request.get("MessageType", "RAW") == "DIGEST":
            if len(message) != 32:
                raise KmsFault("ValidationException", "Digest must be 32 bytes for ECDSA_SHA_256")
            signature = key.sign(message, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        else:
            signature = key.sign(message, ec.ECDSA(hashes.SHA256()))
        self.sign_calls += 1
        return {"KeyId": _arn(key_id), "Signature": base64.b64encode(signature).decode(),
                "SigningAlgorithm": "ECDSA_SHA_256"}


def _arn(key_id: str) -> str:
    return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"


def _handler(kms: KmsStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            target = self.headers.get("X-Amz-Target", "")
            service, _, action = target.partition(".")
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)) or 0)
            try:
                if service != "TrentService" or action not in ("CreateKey", "GetPublicKey", "Sign"):
                    raise KmsFault("UnsupportedOperationException", f"{target} is not served here")
                self._reply(200, getattr(kms, action)(json.loads(body or b"{}")))
            except KmsFault as fault:
                self._reply(400, {"__type": fault.kind, "message": str(fault)})

        def _reply(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

    return Handler
