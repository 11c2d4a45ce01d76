#!/usr/bin/python3
"""SMTP AUTH test server for the smtpsock test suite (aiosmtpd based).

Covers what the Postfix + Dovecot pair cannot: XOAUTH2 with Gmail's error
flow, OAUTHBEARER (RFC 7628) with its error flow, a SCRAM-SHA-256 server
that can send a WRONG server signature, any
advertised mechanism list, AUTH faults, and a transcript of every byte the
client sent (AUTH payloads included), so tests can assert what was sent.

Run it with /usr/bin/python3 (Debian's aiosmtpd is only visible there):

  /usr/bin/python3 tests/inc/auth_server.py [--config FILE.json] [options]

Prints, once listening:   port=N
                          tls_port=M      (only with --implicit-tls)
                          ready
then serves connections until --time-limit seconds have passed, SIGTERM/
SIGINT, or (with --exit-on-stdin-eof) its stdin reaches end of file, i.e.
the parent that holds the pipe has gone.

Options (a --config JSON object takes the same names with "_" for "-";
command line options given explicitly win):
  --host ADDR               127.0.0.1 (or ::1)
  --mechanisms "A B ..."    advertised in EHLO, in this order (default
                            "PLAIN LOGIN CRAM-MD5 XOAUTH2 SCRAM-SHA-256
                            OAUTHBEARER"). Implemented: PLAIN LOGIN
                            CRAM-MD5 XOAUTH2 OAUTHBEARER SCRAM-SHA-1
                            SCRAM-SHA-256; other names are
                            advertised but answered 504. An empty list: no
                            AUTH capability at all.
  --user NAME:PASSWORD      a user (repeatable; split at the first ':').
                            JSON: "users": {"name": "password", ...}.
                            Default: user@example.org / pencil-Secret-1
  --token NAME:TOKEN        an XOAUTH2/OAUTHBEARER bearer token (repeatable). JSON:
                            "tokens": {...}. Default: user@example.org /
                            ya29.smtpsock-test-token
  --starttls                offer STARTTLS on the main port (needs --cert/--key)
  --implicit-tls            also listen on a second port speaking TLS from the
                            first byte (needs --cert/--key)
  --cert FILE --key FILE    PEM certificate (chain) and key
  --auth-require-tls        AUTH neither advertised nor accepted before TLS
                            (538 5.7.11)
  --auth-required           MAIL/RCPT/DATA need AUTH first (530 5.7.0)
  --scram-iterations N      4096
  --scram-bad-signature     send a wrong server signature (v=) in the final
                            SCRAM challenge (the client must refuse it)
  --auth-final-reply TEXT   reply TEXT (e.g. "454 4.7.0 Temporary
                            authentication failure") instead of 235/535 at
                            the end of every AUTH exchange
  --capability WORD         extra EHLO keyword (repeatable), e.g. PIPELINING
  --transcript FILE         every byte received, in order, all connections
                            (after TLS: the decrypted bytes); FILE.N holds
                            connection N only (N = 1, 2, ...)
  --dialog FILE             "N C: line" / "N S: line" / "N *: event" lines
  --maildir DIR             accepted messages: DIR/new/NAME.eml (the message
                            as received, CRLF, dot-unstuffed) beside
                            DIR/new/NAME.json (envelope: mail_from, rcpt_tos,
                            mail_options, rcpt_options, auth_user,
                            auth_mechanism, tls, connection). The .json is
                            written first; both are moved in from DIR/tmp.
  --hostname NAME           smtpsock-auth.localhost
  --time-limit SECONDS      300 (0: none)
  --idle-timeout SECONDS    30: a silent client is disconnected
  --exit-on-stdin-eof
  --verbose                 aiosmtpd's own log (INFO) on stderr

Policy as in the Postfix instances: recipients "reject-..." get 550 5.1.1,
"defer-..." 450 4.2.0; the sender "refused-sender@..." 553 5.7.1.

AUTH replies: 235 2.7.0 Authentication successful (XOAUTH2: 235 2.7.0
Accepted); 535 5.7.8 Authentication credentials invalid; "*" from the
client: 501 5.7.0 Auth aborted; bad base64: 501 5.5.2; unknown mechanism:
504 5.5.4. XOAUTH2 with a bad token: 334 + base64 JSON error
({"status":"401",...}), and after the client's (empty) answer a two-line
535-5.7.8 / 535 5.7.8 reply, as Gmail does.

OAUTHBEARER (RFC 7628): the initial response must be exactly
"n,a=" saslname "," ^A "host=" H ^A "port=" P ^A "auth=Bearer " TOKEN ^A ^A
(the authzid names the user, ',' and '=' escaped as =2C / =3D; P is the
port the client connected to). Right token: 235 2.7.0 Accepted.
Otherwise an error challenge (334 + base64 JSON: status
"invalid_token" for a wrong token or unknown user, "invalid_request" for a
response that breaks the format, with "scope" and "openid-configuration"),
and after the client's answer, which must be a single ^A ("AQ=="; anything
else: 501 5.5.2), 535 5.7.8 Authentication credentials invalid.
"""

import argparse
import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import secrets
import signal
import ssl
import stat
import stringprep
import sys
import time
import unicodedata
import warnings

from aiosmtpd.smtp import MISSING, SMTP, AuthResult

IMPLEMENTED = ("PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER", "SCRAM-SHA-1", "SCRAM-SHA-256")
DEFAULTS = {
    "host": "127.0.0.1",
    "mechanisms": "PLAIN LOGIN CRAM-MD5 XOAUTH2 SCRAM-SHA-256 OAUTHBEARER",
    "users": {"user@example.org": "pencil-Secret-1"},
    "tokens": {"user@example.org": "ya29.smtpsock-test-token"},
    "starttls": False,
    "implicit_tls": False,
    "cert": None,
    "key": None,
    "auth_require_tls": False,
    "auth_required": False,
    "scram_iterations": 4096,
    "scram_bad_signature": False,
    "auth_final_reply": None,
    "capability": [],
    "transcript": None,
    "dialog": None,
    "maildir": None,
    "hostname": "smtpsock-auth.localhost",
    "time_limit": 300.0,
    "idle_timeout": 30.0,
    "exit_on_stdin_eof": False,
    "verbose": False,
}

CODE_OK = "235 2.7.0 Authentication successful"
CODE_BAD = "535 5.7.8 Authentication credentials invalid"
XOAUTH2_ERROR = {"status": "401", "schemes": "bearer mac", "scope": "https://mail.google.com/"}
XOAUTH2_535 = ("535-5.7.8 Username and Password not accepted. For more information, go to\r\n"
               "535 5.7.8  https://support.google.com/mail/?p=BadCredentials smtpsock-test")
OAUTHBEARER_SCOPE = "https://mail.example.org/smtp.send"
OAUTHBEARER_OPENID = "https://auth.example.org/.well-known/openid-configuration"


# ---------------------------------------------------------------- SASLprep

def saslprep(text):
    """RFC 4013 SASLprep (stored-string profile minus the unassigned check)."""
    mapped = []
    for ch in text:
        if stringprep.in_table_c12(ch):
            mapped.append(" ")
        elif not stringprep.in_table_b1(ch):
            mapped.append(ch)
    out = unicodedata.normalize("NFKC", "".join(mapped))
    prohibited = (stringprep.in_table_c12, stringprep.in_table_c21, stringprep.in_table_c22,
                  stringprep.in_table_c3, stringprep.in_table_c4, stringprep.in_table_c5,
                  stringprep.in_table_c6, stringprep.in_table_c7, stringprep.in_table_c8,
                  stringprep.in_table_c9)
    for ch in out:
        if any(f(ch) for f in prohibited):
            raise ValueError("prohibited character in SASLprep input")
    if any(stringprep.in_table_d1(ch) for ch in out):
        if any(stringprep.in_table_d2(ch) for ch in out):
            raise ValueError("mixed bidirectional text")
        if not (stringprep.in_table_d1(out[0]) and stringprep.in_table_d1(out[-1])):
            raise ValueError("bad bidirectional text")
    return out


# ---------------------------------------------------------------- recording

class Recorder:
    """Transcript (raw client bytes) and dialog (both directions) files."""

    def __init__(self, conf):
        self.transcript = conf["transcript"]
        self.dialog = conf["dialog"]
        for path in (self.transcript, self.dialog):
            if path:
                open(path, "ab").close()

    def received(self, conn, data):
        if self.transcript:
            with open(self.transcript, "ab") as f:
                f.write(data)
            with open(f"{self.transcript}.{conn}", "ab") as f:
                f.write(data)

    def dialog_line(self, conn, who, text):
        if self.dialog:
            if isinstance(text, str):
                text = text.encode("utf-8", "surrogateescape")
            with open(self.dialog, "ab") as f:
                for line in text.split(b"\r\n"):
                    f.write(b"%d %s: %s\n" % (conn, who.encode(), line))


class RecordingSMTP(SMTP):
    """aiosmtpd's SMTP, recording what flows, with LOGIN's usual prompts."""

    AuthLoginUsernameChallenge = "Username:"
    AuthLoginPasswordChallenge = "Password:"

    def __init__(self, handler, recorder, conn, **kwargs):
        super().__init__(handler, **kwargs)
        self.recorder = recorder
        self.conn = conn
        self._line_buf = b""

    def connection_made(self, transport):
        again = self.transport is not None
        super().connection_made(transport)
        if again:
            self.recorder.dialog_line(self.conn, "*", "TLS established (STARTTLS)")
        elif transport.get_extra_info("ssl_object") is not None:
            self.recorder.dialog_line(self.conn, "*", "TLS established (implicit)")
        else:
            self.recorder.dialog_line(self.conn, "*", "connected")

    def data_received(self, data):
        self.recorder.received(self.conn, data)
        self._line_buf += data
        while b"\n" in self._line_buf:
            line, self._line_buf = self._line_buf.split(b"\n", 1)
            self.recorder.dialog_line(self.conn, "C", line.rstrip(b"\r"))
        super().data_received(data)

    def connection_lost(self, error):
        if self._line_buf:
            self.recorder.dialog_line(self.conn, "C", self._line_buf + b" [no line end]")
            self._line_buf = b""
        self.recorder.dialog_line(self.conn, "*", "closed")
        super().connection_lost(error)

    async def push(self, status):
        self.recorder.dialog_line(self.conn, "S", status)
        await super().push(status)

    async def smtp_STARTTLS(self, arg):
        try:
            await super().smtp_STARTTLS(arg)
        except Exception as error:
            cause = error.__cause__ or error
            self.recorder.dialog_line(self.conn, "*", f"TLS handshake failed: {cause}")
            raise

    async def smtp_AUTH(self, arg):
        # Mechanism names are case-insensitive (RFC 4422); aiosmtpd's are not.
        if arg:
            mech, sep, rest = arg.strip().partition(" ")
            arg = mech.upper() + sep + rest
        await super().smtp_AUTH(arg)

    def is_tls(self):
        return self.transport is not None and self.transport.get_extra_info("ssl_object") is not None


# ---------------------------------------------------------------- handler

def b64(data):
    return base64.b64encode(data).decode("ascii")


class Handler:
    def __init__(self, conf):
        self.conf = conf
        self.users = {k.encode("utf-8"): v.encode("utf-8") for k, v in conf["users"].items()}
        self.tokens = {k.encode("utf-8"): v.encode("utf-8") for k, v in conf["tokens"].items()}
        self.advertised = conf["mechanisms"]
        self.counter = 0

    # ---- session hooks

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        out = [r for r in responses if not r[4:].upper().startswith("AUTH")]
        last = out.pop()  # "250 HELP"
        for cap in self.conf["capability"]:
            out.append("250-" + cap)
        if self.advertised and (server.is_tls() or not self.conf["auth_require_tls"]):
            out.append("250-AUTH " + " ".join(self.advertised))
        out.append(last)
        return out

    async def handle_AUTH(self, server, session, envelope, args):
        if self.conf["auth_require_tls"] and not server.is_tls():
            return "538 5.7.11 Encryption required for requested authentication mechanism"
        if args[0].upper() not in self.advertised or args[0].upper() not in IMPLEMENTED:
            return "504 5.5.4 Unrecognized authentication type"
        return MISSING

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if address.lower().startswith("refused-sender@"):
            return "553 5.7.1 sender refused for test"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.lower()
        if local.startswith("reject-"):
            return "550 5.1.1 rejected for test"
        if local.startswith("defer-"):
            return "450 4.2.0 deferred for test"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        self.counter += 1
        name = f"{time.time_ns()}.{os.getpid()}.{self.counter}"
        maildir = self.conf["maildir"]
        if maildir:
            auth = session.auth_data if isinstance(session.auth_data, dict) else {}
            meta = {
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "mail_options": envelope.mail_options,
                "rcpt_options": envelope.rcpt_options,
                "auth_user": auth.get("user"),
                "auth_mechanism": auth.get("mechanism"),
                "tls": server.is_tls(),
                "connection": server.conn,
            }
            for suffix, data in ((".json", json.dumps(meta).encode()), (".eml", envelope.original_content)):
                tmp = os.path.join(maildir, "tmp", name + suffix)
                with open(tmp, "wb") as f:
                    f.write(data)
                os.rename(tmp, os.path.join(maildir, "new", name + suffix))
        return f"250 2.0.0 Ok: queued as {name}"

    async def handle_exception(self, error):
        cause = error.__cause__ or error
        logging.getLogger("auth_server").warning("session exception: %s: %s", type(cause).__name__, cause)
        return f"500 Error: ({type(error).__name__}) {error}"

    # ---- helpers for the mechanisms

    async def _challenge(self, server, data):
        """Send 334 base64(data), return the decoded answer or None (already answered)."""
        return self._answer(await server.challenge_auth(data))

    @staticmethod
    def _answer(resp):
        return None if resp is MISSING else resp

    async def _initial(self, server, args):
        """The initial response (args[1], "=" for empty) or an empty 334 challenge."""
        if len(args) > 1:
            if args[1] == "=":
                return b""
            try:
                return base64.b64decode(args[1].encode(), validate=True)
            except (binascii.Error, ValueError):
                await server.push("501 5.5.2 Can't decode base64")
                return None
        return await self._challenge(server, b"")

    def _result(self, ok, user, mech, message=None):
        final = self.conf["auth_final_reply"]
        if final:
            return AuthResult(success=False, handled=False, message=final)
        if ok:
            return AuthResult(success=True, auth_data={"user": user.decode("utf-8", "replace"), "mechanism": mech},
                              message=message or CODE_OK)
        return AuthResult(success=False, handled=False, message=CODE_BAD)

    HANDLED = AuthResult(success=False, handled=True)

    def _password_ok(self, user, password):
        want = self.users.get(user)
        return want is not None and hmac.compare_digest(want, password)

    # ---- mechanisms (aiosmtpd maps auth_CRAM__MD5 to "CRAM-MD5")

    async def auth_PLAIN(self, server, args):
        resp = await self._initial(server, args)
        if resp is None:
            return self.HANDLED
        parts = resp.split(b"\0")
        if len(parts) != 3:
            await server.push("501 5.5.2 Can't split auth value")
            return self.HANDLED
        authz, user, password = parts
        ok = self._password_ok(user, password) and authz in (b"", user)
        return self._result(ok, user, "PLAIN")

    async def auth_LOGIN(self, server, args):
        if len(args) > 1:
            user = await self._initial(server, args)
        else:
            user = await self._challenge(server, server.AuthLoginUsernameChallenge.encode())
        if user is None:
            return self.HANDLED
        password = await self._challenge(server, server.AuthLoginPasswordChallenge.encode())
        if password is None:
            return self.HANDLED
        return self._result(self._password_ok(user, password), user, "LOGIN")

    async def auth_CRAM__MD5(self, server, args):
        if len(args) > 1:
            await server.push("501 5.5.2 CRAM-MD5 takes no initial response")
            return self.HANDLED
        challenge = f"<{secrets.randbits(48)}.{int(time.time())}@{self.conf['hostname']}>".encode()
        resp = await self._challenge(server, challenge)
        if resp is None:
            return self.HANDLED
        user, _, digest = resp.rpartition(b" ")
        want = self.users.get(user)
        ok = False
        if want is not None:
            expect = hmac.new(want, challenge, hashlib.md5).hexdigest().encode()
            ok = hmac.compare_digest(expect, digest)
        return self._result(ok, user, "CRAM-MD5")

    async def auth_XOAUTH2(self, server, args):
        resp = await self._initial(server, args)
        if resp is None:
            return self.HANDLED
        fields = {}
        for item in resp.split(b"\x01"):
            key, sep, value = item.partition(b"=")
            if sep:
                fields[key] = value
        user = fields.get(b"user", b"")
        auth = fields.get(b"auth", b"")
        token = auth[7:] if auth[:7].lower() == b"bearer " else None
        want = self.tokens.get(user)
        if token is not None and want is not None and hmac.compare_digest(want, token) \
                and resp.endswith(b"\x01\x01"):
            return self._result(True, user, "XOAUTH2", "235 2.7.0 Accepted")
        # Gmail: an error challenge, the client answers with an empty line,
        # then the failure.
        answer = await self._challenge(server, json.dumps(XOAUTH2_ERROR, separators=(",", ":")).encode())
        if answer is None:
            return self.HANDLED
        if self.conf["auth_final_reply"]:
            return self._result(False, user, "XOAUTH2")
        return AuthResult(success=False, handled=False, message=XOAUTH2_535)

    @staticmethod
    def _oauthbearer_fields(resp, port):
        """RFC 7628 section 3.1 client response -> (user, {key: value}) or None."""
        # gs2-header: "n," ["a=" saslname] "," (no channel binding), then ^A
        if not resp.startswith(b"n,") or not resp.endswith(b"\x01\x01"):
            return None
        authz, sep, rest = resp[2:].partition(b",")
        if not sep or not authz.startswith(b"a=") or not rest.startswith(b"\x01"):
            return None
        raw_user = authz[2:]
        if not raw_user or b"," in raw_user or b"=" in raw_user.replace(b"=2C", b"").replace(b"=3D", b""):
            return None
        user = raw_user.replace(b"=2C", b",").replace(b"=3D", b"=")
        fields = {}
        for pair in rest[1:-2].split(b"\x01"):
            key, eq, value = pair.partition(b"=")
            if not eq or not key.isalpha() or key in fields:
                return None
            fields[key] = value
        # what this client sends: host, port (the one connected to), auth
        if set(fields) != {b"host", b"port", b"auth"} or not fields[b"host"] \
                or fields[b"port"] != str(port).encode() or not fields[b"auth"].startswith(b"Bearer "):
            return None
        return user, fields

    async def auth_OAUTHBEARER(self, server, args):
        resp = await self._initial(server, args)
        if resp is None:
            return self.HANDLED
        port = server.transport.get_extra_info("sockname")[1]
        parsed = self._oauthbearer_fields(resp, port)
        status = "invalid_request"
        user = b""
        if parsed is not None:
            user, fields = parsed
            token = fields[b"auth"][7:]
            want = self.tokens.get(user)
            if want is not None and hmac.compare_digest(want, token):
                return self._result(True, user, "OAUTHBEARER", "235 2.7.0 Accepted")
            status = "invalid_token"
        # RFC 7628 section 3.2.2: an error challenge, then (after ^A) the failure
        error = {"status": status, "scope": OAUTHBEARER_SCOPE, "openid-configuration": OAUTHBEARER_OPENID}
        answer = await self._challenge(server, json.dumps(error).encode())
        if answer is None:
            return self.HANDLED  # "*" from the client: 501 sent
        if answer != b"\x01":
            await server.push("501 5.5.2 OAUTHBEARER error challenge must be answered with ^A")
            return self.HANDLED
        return self._result(False, user, "OAUTHBEARER")

    async def auth_SCRAM__SHA__1(self, server, args):
        return await self._scram(server, args, "sha1", "SCRAM-SHA-1")

    async def auth_SCRAM__SHA__256(self, server, args):
        return await self._scram(server, args, "sha256", "SCRAM-SHA-256")

    async def _scram(self, server, args, hname, mech):
        def H(data):
            return hashlib.new(hname, data).digest()

        def HMAC(key, data):
            return hmac.new(key, data, hname).digest()

        async def fail(text="535 5.7.8 Authentication credentials invalid"):
            await server.push(text)
            return self.HANDLED

        resp = await self._initial(server, args)
        if resp is None:
            return self.HANDLED
        try:
            client_first = resp.decode("utf-8")
        except UnicodeDecodeError:
            return await fail("501 5.5.2 SCRAM message is not UTF-8")
        # gs2-header: cbind-flag "," [authzid] ","
        parts = client_first.split(",", 2)
        if len(parts) != 3 or parts[0] not in ("n", "y") or (parts[1] and not parts[1].startswith("a=")):
            if parts and parts[0].startswith("p="):
                return await fail("535 5.7.8 SCRAM channel binding is not supported")
            return await fail("501 5.5.2 bad SCRAM client-first-message")
        gs2_header = parts[0] + "," + parts[1] + ","
        client_first_bare = parts[2]
        attrs = client_first_bare.split(",")
        if len(attrs) < 2 or not attrs[0].startswith("n=") or not attrs[1].startswith("r="):
            return await fail("501 5.5.2 bad SCRAM client-first-message")
        raw_user = attrs[0][2:]
        if "=" in raw_user.replace("=2C", "").replace("=3D", ""):
            return await fail("501 5.5.2 bad SCRAM user name encoding")
        user = raw_user.replace("=2C", ",").replace("=3D", "=").encode("utf-8")
        cnonce = attrs[1][2:]
        if not cnonce or "," in cnonce:
            return await fail("501 5.5.2 bad SCRAM nonce")

        password = self.users.get(user)
        known = password is not None
        if not known:
            password = secrets.token_bytes(16)  # go on, fail at the proof
        try:
            prepared = saslprep(password.decode("utf-8")).encode("utf-8")
        except (UnicodeDecodeError, ValueError):
            prepared = password
        salt = secrets.token_bytes(16)
        iterations = int(self.conf["scram_iterations"])
        nonce = cnonce + b64(secrets.token_bytes(18))
        server_first = f"r={nonce},s={b64(salt)},i={iterations}"

        resp = await self._challenge(server, server_first.encode())
        if resp is None:
            return self.HANDLED
        try:
            client_final = resp.decode("utf-8")
        except UnicodeDecodeError:
            return await fail("501 5.5.2 SCRAM message is not UTF-8")
        idx = client_final.rfind(",p=")
        if idx < 0:
            return await fail("501 5.5.2 SCRAM client-final-message without proof")
        without_proof = client_final[:idx]
        fattrs = without_proof.split(",")
        if len(fattrs) < 2 or fattrs[0] != "c=" + b64(gs2_header.encode()) or fattrs[1] != "r=" + nonce:
            return await fail("535 5.7.8 SCRAM channel binding or nonce mismatch")
        try:
            proof = base64.b64decode(client_final[idx + 3:], validate=True)
        except (binascii.Error, ValueError):
            return await fail("501 5.5.2 bad SCRAM proof encoding")

        salted = hashlib.pbkdf2_hmac(hname, prepared, salt, iterations)
        client_key = HMAC(salted, b"Client Key")
        stored_key = H(client_key)
        auth_message = ",".join((client_first_bare, server_first, without_proof)).encode("utf-8")
        client_sig = HMAC(stored_key, auth_message)
        if len(proof) != len(client_sig):
            return self._result(False, user, mech)
        recovered = bytes(a ^ b for a, b in zip(proof, client_sig))
        if not known or not hmac.compare_digest(H(recovered), stored_key):
            return self._result(False, user, mech)

        server_sig = HMAC(HMAC(salted, b"Server Key"), auth_message)
        if self.conf["scram_bad_signature"]:
            server_sig = bytes(b ^ 0x5A for b in server_sig)
        resp = await self._challenge(server, ("v=" + b64(server_sig)).encode())
        if resp is None:
            return self.HANDLED  # the client aborted with "*" (501 sent)
        if resp != b"":
            return await fail("501 5.5.2 expected an empty response to the SCRAM server-final-message")
        return self._result(True, user, mech)


# ---------------------------------------------------------------- main

def parse_config(argv):
    p = argparse.ArgumentParser(description="SMTP AUTH test server (see the module docstring)")
    p.add_argument("--config")
    p.add_argument("--host")
    p.add_argument("--mechanisms")
    p.add_argument("--user", action="append", default=None)
    p.add_argument("--token", action="append", default=None)
    p.add_argument("--starttls", action="store_true", default=None)
    p.add_argument("--implicit-tls", action="store_true", default=None)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--auth-require-tls", action="store_true", default=None)
    p.add_argument("--auth-required", action="store_true", default=None)
    p.add_argument("--scram-iterations", type=int)
    p.add_argument("--scram-bad-signature", action="store_true", default=None)
    p.add_argument("--auth-final-reply")
    p.add_argument("--capability", action="append", default=None)
    p.add_argument("--transcript")
    p.add_argument("--dialog")
    p.add_argument("--maildir")
    p.add_argument("--hostname")
    p.add_argument("--time-limit", type=float)
    p.add_argument("--idle-timeout", type=float)
    p.add_argument("--exit-on-stdin-eof", action="store_true", default=None)
    p.add_argument("--verbose", action="store_true", default=None)
    a = p.parse_args(argv)

    conf = dict(DEFAULTS)
    if a.config:
        with open(a.config, encoding="utf-8") as f:
            loaded = json.load(f)
        unknown = set(loaded) - set(DEFAULTS)
        if unknown:
            p.error("unknown config keys: " + ", ".join(sorted(unknown)))
        conf.update(loaded)
    for key, value in vars(a).items():
        if key in ("config", "user", "token") or value is None:
            continue
        conf[key] = value
    if a.user is not None:
        conf["users"] = dict(u.split(":", 1) for u in a.user)
    if a.token is not None:
        conf["tokens"] = dict(t.split(":", 1) for t in a.token)
    if isinstance(conf["mechanisms"], str):
        conf["mechanisms"] = conf["mechanisms"].split()
    conf["mechanisms"] = [m.upper() for m in conf["mechanisms"]]
    if isinstance(conf["capability"], str):
        conf["capability"] = conf["capability"].split()
    if (conf["starttls"] or conf["implicit_tls"]) and not (conf["cert"] and conf["key"]):
        p.error("--starttls/--implicit-tls need --cert and --key")
    if conf["maildir"]:
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(conf["maildir"], sub), exist_ok=True)
    return conf


async def serve(conf):
    loop = asyncio.get_running_loop()
    recorder = Recorder(conf)
    handler = Handler(conf)
    tls_ctx = None
    if conf["cert"]:
        tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_ctx.load_cert_chain(conf["cert"], conf["key"])
    conn_counter = [0]
    exclude = [m for m in IMPLEMENTED if m not in conf["mechanisms"]]

    def factory(starttls):
        def make():
            conn_counter[0] += 1
            return RecordingSMTP(
                handler, recorder, conn_counter[0],
                hostname=conf["hostname"],
                tls_context=tls_ctx if starttls else None,
                auth_require_tls=False,           # handle_AUTH decides
                auth_required=bool(conf["auth_required"]),
                auth_exclude_mechanism=exclude,
                timeout=float(conf["idle_timeout"]),
                loop=loop,
            )
        return make

    servers = [await loop.create_server(factory(bool(conf["starttls"])), conf["host"], 0)]
    lines = [f"port={servers[0].sockets[0].getsockname()[1]}"]
    if conf["implicit_tls"]:
        servers.append(await loop.create_server(factory(False), conf["host"], 0, ssl=tls_ctx))
        lines.append(f"tls_port={servers[1].sockets[0].getsockname()[1]}")
    sys.stdout.write("\n".join(lines) + "\nready\n")
    sys.stdout.flush()

    done = loop.create_future()

    def finish(why):
        if not done.done():
            done.set_result(why)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, finish, f"signal {sig}")
    if conf["time_limit"]:
        loop.call_later(float(conf["time_limit"]), finish, "time limit")
    if conf["exit_on_stdin_eof"]:
        mode = os.fstat(0).st_mode
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode) and os.isatty(0):
            def on_stdin():
                try:
                    data = os.read(0, 4096)
                except OSError:
                    data = b""
                if not data:
                    loop.remove_reader(0)
                    finish("stdin closed")
            loop.add_reader(0, on_stdin)
        else:
            finish("stdin is not a pipe")
    why = await done
    for s in servers:
        s.close()
    if conf["verbose"]:
        print(f"auth_server: exiting ({why})", file=sys.stderr)


def main(argv):
    conf = parse_config(argv)
    logging.basicConfig(level=logging.INFO if conf["verbose"] else logging.WARNING,
                        format="auth_server: %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    warnings.simplefilter("ignore")  # aiosmtpd warns about auth_required without TLS
    # Noise: aiosmtpd itself sets the deprecated Session.login_data after
    # AUTH, and warns (per connection) that auth_required lacks
    # auth_require_tls (handle_AUTH enforces TLS instead).
    logging.getLogger("mail.log").addFilter(
        lambda record: "login_data is deprecated" not in record.getMessage()
        and "auth_require_tls == False" not in record.getMessage())
    asyncio.run(serve(conf))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
