"""Checks Vigil's Atom feed of CAP alerts with tools independent of Vigil's code.

Usage: python3 feed_check.py URL XSD

Reads the Atom feed at URL with feedparser, which fetches it itself (so it also judges the HTTP
Content-Type and charset). Fails at once, exit 1 with a message on stderr and nothing on
stdout, if the fetch fails, feedparser reports the feed ill-formed (bozo) or the feed is not
Atom 1.0. Otherwise, for every entry it takes the link whose type is application/cap+xml (else
the entry's first link), fetches it and validates it against the schema XSD with
`xmllint --noout --schema XSD -`, then prints one JSON object:
  {"version": "atom10", "title", "updated",
   "entries": [{"id", "title", "updated", "link": the URL fetched, "valid": bool,
                "identifier", "status", "scope", "sender": the CAP elements' text,
                "expires": the first <info>'s <expires> or null,
                "areaDesc": [every <info><area><areaDesc>, in order],
                "languages": [every <info><language>, in order],
                "summary": the Atom entry's summary}]}
A CAP field missing from the document, or a document that could not be fetched or parsed, gives
null. Why a document failed (xmllint's messages, fetch errors) goes to stderr. Exit 0 only if
every document is valid (so also for a feed with no entries), else 1.
"""
import json
import socket
import subprocess
import sys
import urllib.request
import xml.etree.ElementTree as ET

import feedparser

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
url, xsd = sys.argv[1], sys.argv[2]
socket.setdefaulttimeout(10)  # for feedparser's fetch too: it takes no timeout of its own


def fail(message):
    print(f"feed_check: {message}", file=sys.stderr)
    sys.exit(1)


feed = feedparser.parse(url)
if feed.get("status", 200) >= 400:
    fail(f"{url}: HTTP {feed.status}")
if feed.bozo:
    fail(f"{url}: feedparser: {feed.bozo_exception!r}")
if feed.version != "atom10":
    fail(f"{url}: not Atom 1.0 but {feed.version!r}")


def check(entry):
    # feedparser gives every link a type: a link without one is reported as text/html.
    links = entry.get("links", [])
    cap = [l for l in links if l.get("type") == "application/cap+xml"] or links
    out = {"id": entry.get("id"), "title": entry.get("title"), "updated": entry.get("updated"),
           "link": cap[0]["href"] if cap else None, "valid": False}
    out.update(dict.fromkeys(["identifier", "status", "scope", "sender", "expires"]))
    out["areaDesc"] = []
    out["languages"] = []
    out["summary"] = entry.get("summary")
    if out["link"] is None:
        print(f"feed_check: entry {out['id']}: no link", file=sys.stderr)
        return out
    try:
        with urllib.request.urlopen(out["link"]) as response:
            doc = response.read()
    except OSError as e:
        print(f"feed_check: {out['link']}: {e}", file=sys.stderr)
        return out
    lint = subprocess.run(["xmllint", "--noout", "--schema", xsd, "-"], input=doc,
                          capture_output=True)
    out["valid"] = lint.returncode == 0
    if not out["valid"]:
        sys.stderr.write(f"feed_check: {out['link']}:\n{lint.stderr.decode(errors='replace')}")
    try:
        root = ET.fromstring(doc)
    except ET.ParseError:
        return out  # xmllint has already said why
    for field in ("identifier", "status", "scope", "sender"):
        out[field] = root.findtext(CAP + field)
    out["expires"] = root.findtext(f"{CAP}info/{CAP}expires")
    out["areaDesc"] = [a.text for a in root.iterfind(f"{CAP}info/{CAP}area/{CAP}areaDesc")]
    out["languages"] = [l.text for l in root.iterfind(f"{CAP}info/{CAP}language")]
    return out


entries = [check(e) for e in feed.entries]
print(json.dumps({"version": feed.version, "title": feed.feed.get("title"),
                  "updated": feed.feed.get("updated"), "entries": entries}), flush=True)
sys.exit(0 if all(e["valid"] for e in entries) else 1)
