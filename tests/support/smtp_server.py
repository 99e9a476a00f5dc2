"""A real SMTP server (aiosmtpd) for Vigil's email delivery tests, independent of Vigil's code.

Usage: python3 smtp_server.py [--starttls CERT KEY] [--auth USER PASSWORD]

Listens on 127.0.0.1 on a free port and prints the port on its first line of output.
  --starttls CERT KEY   offer STARTTLS with this certificate and key, and require it before
                        MAIL (530 otherwise)
  --auth USER PASSWORD  require AUTH PLAIN or LOGIN with exactly these credentials before MAIL
                        (535 for any others); with --starttls, AUTH is only offered after it
The test makes its certificate with:
  openssl req -x509 -newkey rsa:2048 -nodes -keyout K -out C -days 1 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1
Every message accepted is printed as one JSON line:
  {"mail_from", "rcpt_tos": [...], "subject": the decoded Subject, "content_type": the
   message's MIME type (e.g. "text/plain"; the full header is in "headers"), "body": the decoded
   text/plain part (null if there is none), "headers": {name: decoded value} (a repeated header
   keeps its last value), "tls": whether the session used STARTTLS, "auth": the login or null}
Runs until killed.
"""
import argparse
import asyncio
import email
import email.policy
import json
import socket
import ssl

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

parser = argparse.ArgumentParser()
parser.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
parser.add_argument("--auth", nargs=2, metavar=("USER", "PASSWORD"))
args = parser.parse_args()


class Handler:
    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain",))
        print(json.dumps({
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "subject": msg["Subject"],
            "content_type": msg.get_content_type(),
            # SMTP carries CRLF line endings; give the text as written, with \n.
            "body": body.get_content().replace("\r\n", "\n") if body is not None else None,
            "headers": {k: str(v) for k, v in msg.items()},
            # aiosmtpd starts a fresh session after STARTTLS, with the TLS details in .ssl.
            "tls": session.ssl is not None,
            "auth": session.auth_data.login.decode() if session.authenticated else None,
        }), flush=True)
        return "250 OK"


def authenticator(server, session, envelope, mechanism, data):
    ok = (isinstance(data, LoginPassword)
          and (data.login, data.password) == tuple(a.encode() for a in args.auth))
    # aiosmtpd keeps auth_data in session.auth_data for handle_DATA to report. handled=False
    # makes it answer a failure with 535: its default, True, answers nothing and hangs the client.
    return AuthResult(success=ok, handled=False, auth_data=data if ok else None)


tls_context = None
if args.starttls:
    tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_context.load_cert_chain(*args.starttls)


def factory():
    return SMTP(
        Handler(),
        hostname="localhost",  # the default, getfqdn(), can stall on DNS
        enable_SMTPUTF8=True,
        tls_context=tls_context,
        require_starttls=tls_context is not None,
        authenticator=authenticator if args.auth else None,
        auth_required=bool(args.auth),
        auth_require_tls=tls_context is not None,
    )


async def main():
    # Bind port 0 ourselves and hand asyncio the socket: aiosmtpd's Controller only takes a
    # port number, and probing for a free one then re-binding it would race other tests.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = await asyncio.get_running_loop().create_server(factory, sock=sock)
    print(sock.getsockname()[1], flush=True)
    await server.serve_forever()


asyncio.run(main())
