"""Fixtures for the API fuzzer: the caller, two other users, a group of the
three with one message, a chat request to the caller, and an upload. Prints shell assignments of their ids
(CHAT_FUZZ_*) for scripts/api-fuzz. Standard library only."""

import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.request
import uuid

BASE = sys.argv[1]


def call(method, path, body=None, token=None, raw=None, content_type="application/json"):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(BASE + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", content_type)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as res:
        return json.loads(res.read() or b"null")


def register(name):
    return call("POST", "/v1/auth/register", {"username": name, "password": "fuzz-password-1"})


def png():
    # The smallest valid PNG: 1x1, one grey pixel.
    return bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
        "3a7e9b550000000a4944415478da6360000000020001e221bc330000000049454e44ae426082"
    )


me = register("fuzzer")
peer = register("fuzz.peer")
other = register("fuzz.other")
token = me["access_token"]
group = call(
    "POST", "/v1/chats/group",
    {"title": "fuzz", "member_ids": [peer["user_id"], other["user_id"]]}, token,
)
# A request from the other user to the caller: accept, reject, block.
direct = call("POST", "/v1/chats/direct", {"recipient_id": me["user_id"]}, other["access_token"])
sent = call(
    "POST", f"/v1/chats/{group['chat_id']}/messages",
    {"client_msg_id": str(uuid.uuid4()), "kind": "text", "text": "hello"}, token,
)
boundary = "fuzzboundary"
form = (
    f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.png\"\r\n"
    "Content-Type: image/png\r\n\r\n"
).encode() + png() + f"\r\n--{boundary}--\r\n".encode()
media = call("POST", "/v1/media", token=token, raw=form,
             content_type=f"multipart/form-data; boundary={boundary}")



def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def session_free_token(user_id):
    """The caller's access token as a tool mints it: no `sid`, so no
    session the fuzzer signs out (DELETE /v1/me/sessions/{id} with an id
    it listed, DELETE /v1/me/sessions) takes its own token away."""
    now = int(time.time())
    claims = {"sub": user_id, "iat": now, "exp": now + 7200, "iss": "chat", "aud": "chat", "roles": []}
    signing_input = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
    key = os.environ["CHAT_FUZZ_JWT_SECRET"].encode()
    return signing_input + "." + b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())


print(f"CHAT_FUZZ_TOKEN={session_free_token(me['user_id'])}")
print(f"CHAT_FUZZ_CHAT={group['chat_id']}")
print(f"CHAT_FUZZ_DIRECT={direct['chat_id']}")
print(f"CHAT_FUZZ_MESSAGE={sent['message_id']}")
print(f"CHAT_FUZZ_PEER={peer['user_id']}")
print(f"CHAT_FUZZ_MEDIA={media['media_id']}")
