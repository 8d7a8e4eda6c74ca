#!/usr/bin/env python3
"""A Web Push receiver on loopback for the push tests: it plays a browser
and its push service at once, independent of our Rust code.

POST /devices?mode=ok|gone|flaky:N  makes a device (its own P-256 key and
    auth secret) and answers the subscription JSON a browser would give.
POST /push/<id>  is the device's endpoint: it checks the VAPID JWT
    (RFC 8292: ES256 over the `k` key, `aud` = this origin, `exp` within
    24 h, `sub` a mailto:/https: URL), decrypts the body with the
    `http_ece` library (RFC 8291, aes128gcm), and records the JSON.
    `gone` devices answer 410; `flaky:N` ones answer 503 N times first.
GET /push/<id>  answers {"received": [...], "attempts": n, "errors": [...]}.

It prints "listening <port>" once ready.
"""
import base64
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

LOCK = threading.Lock()
DEVICES = {}


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def check_vapid(header, origin):
    m = re.fullmatch(r"vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)", header or "")
    if not m:
        return "no vapid authorization"
    token, k = m.groups()
    head, claims, sig = token.split(".")
    if json.loads(b64d(head)).get("alg") != "ES256":
        return "alg is not ES256"
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64d(k))
    raw = b64d(sig)
    if len(raw) != 64:
        return "signature is not r||s"
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        key.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return "bad signature"
    c = json.loads(b64d(claims))
    if c.get("aud") != origin:
        return f"aud {c.get('aud')} is not {origin}"
    now = time.time()
    if not (now < c.get("exp", 0) <= now + 86400):
        return "exp out of range"
    if not str(c.get("sub", "")).startswith(("mailto:", "https:")):
        return "sub is not a contact"
    return None


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        port = self.server.server_address[1]
        if self.path.startswith("/devices"):
            mode = self.path.partition("mode=")[2] or "ok"
            key = ec.generate_private_key(ec.SECP256R1())
            auth = os.urandom(16)
            dev_id = b64e(os.urandom(9))
            public = key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
            with LOCK:
                DEVICES[dev_id] = {"key": key, "auth": auth, "mode": mode, "received": [],
                                   "attempts": 0, "errors": []}
            return self.answer(201, {
                "endpoint": f"http://127.0.0.1:{port}/push/{dev_id}",
                "expirationTime": None,
                "keys": {"p256dh": b64e(public), "auth": b64e(auth)},
            })
        m = re.fullmatch(r"/push/([A-Za-z0-9_-]+)", self.path)
        dev = DEVICES.get(m.group(1)) if m else None
        if dev is None:
            return self.answer(404)
        with LOCK:
            dev["attempts"] += 1
            attempt = dev["attempts"]
        mode = dev["mode"]
        if mode == "gone":
            return self.answer(410)
        if mode.startswith("flaky:") and attempt <= int(mode[6:]):
            return self.answer(503)
        problem = check_vapid(self.headers.get("Authorization"), f"http://127.0.0.1:{port}")
        if self.headers.get("Content-Encoding") != "aes128gcm":
            problem = problem or "content encoding is not aes128gcm"
        if not self.headers.get("TTL"):
            problem = problem or "no TTL"
        if problem:
            with LOCK:
                dev["errors"].append(problem)
            return self.answer(401, {"error": problem})
        try:
            plain = http_ece.decrypt(body, private_key=dev["key"], auth_secret=dev["auth"],
                                     version="aes128gcm")
            payload = json.loads(plain)
        except Exception as e:  # noqa: BLE001 - any failure is the test's finding
            with LOCK:
                dev["errors"].append(f"decrypt: {e!r}")
            return self.answer(400, {"error": "cannot decrypt"})
        with LOCK:
            dev["received"].append({
                "payload": payload,
                "topic": self.headers.get("Topic"),
                "urgency": self.headers.get("Urgency"),
                "ttl": self.headers.get("TTL"),
            })
        return self.answer(201)

    def do_GET(self):
        m = re.fullmatch(r"/push/([A-Za-z0-9_-]+)", self.path)
        dev = DEVICES.get(m.group(1)) if m else None
        if dev is None:
            return self.answer(404)
        with LOCK:
            return self.answer(200, {"received": dev["received"], "attempts": dev["attempts"],
                                     "errors": dev["errors"]})


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
