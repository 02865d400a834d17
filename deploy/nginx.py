"""The cluster's nginx site, derived from deploy/nginx.conf so that the two cannot drift.

The cluster runs the operators' example itself, less what only a public host has: the
upstream lists the cluster's gunicorns instead of the example's, the one server listens
on a loopback port in plain HTTP (no certificates; and browsers speak HTTP/2 only over
TLS, so `http2` goes with `ssl_*`), and a server without locations (the redirect to
HTTPS) is left out. Everything else is kept word for word: every location, header and
timeout, and whatever the example gains later.
"""

import re
from pathlib import Path
from typing import NamedTuple

EXAMPLE = Path(__file__).with_name("nginx.conf")
UPSTREAM = ["upstream", "chatapp"]

# Comments, quoted strings (kept with their quotes), braces and semicolons, bare words.
TOKEN = re.compile(r"""#[^\n]*|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[{};]|[^\s{};"'#]+""")


class Directive(NamedTuple):
    """One nginx directive: its words, and its block of directives if it has one."""

    words: tuple
    block: tuple | None = None

    @property
    def name(self):
        """The directive's name: `location`, `proxy_pass`, ..."""
        return self.words[0]


def parse(text):
    """nginx configuration text as a tuple of Directives, comments left out."""
    tokens = iter([token for token in TOKEN.findall(text) if not token.startswith("#")])
    return _parse_block(tokens, nested=False)


def _parse_block(tokens, nested):
    directives, words = [], []
    for token in tokens:
        if token == "}":
            if not nested or words:
                raise ValueError(f"unexpected }} after {' '.join(words)!r}")
            return tuple(directives)
        if token == ";":
            directives.append(Directive(tuple(words)))
            words = []
        elif token == "{":
            directives.append(Directive(tuple(words), _parse_block(tokens, nested=True)))
            words = []
        else:
            words.append(token)
    if nested or words:
        raise ValueError("the configuration ends inside a block or a directive")
    return tuple(directives)


def render(directives, indent=""):
    """Directives as nginx configuration text."""
    lines = []
    for directive in directives:
        head = indent + " ".join(directive.words)
        if directive.block is None:
            lines.append(head + ";")
        else:
            lines += [head + " {", render(directive.block, indent + "    "), indent + "}"]
    return "\n".join(lines)


def cluster_site(port, upstreams, example=EXAMPLE):
    """The example's configuration for nginx on 127.0.0.1:port in front of upstreams."""
    directives = parse(Path(example).read_text())
    if not any(directive.words == tuple(UPSTREAM) for directive in directives):
        raise ValueError(f"{example} has no `{' '.join(UPSTREAM)}` block")
    site = [_for_cluster(directive, port, upstreams) for directive in directives]
    return render(directive for directive in site if not _is_redirect(directive))


def _for_cluster(directive, port, upstreams):
    """A top-level directive of the example, as the cluster runs it."""
    if directive.words == tuple(UPSTREAM):
        balancing = [inner for inner in directive.block if inner.name != "server"]
        servers = [Directive(("server", address)) for address in upstreams]
        return directive._replace(block=(*balancing, *servers))
    if directive.name == "server":
        kept = [inner for inner in directive.block if not _public_only(inner)]
        return directive._replace(block=(Directive(("listen", f"127.0.0.1:{port}")), *kept))
    return directive


def _public_only(directive):
    """Whether a server directive is only for a public host: its ports, TLS, HTTP/2."""
    return directive.name in ("listen", "http2") or directive.name.startswith("ssl_")


def _is_redirect(directive):
    """Whether a top-level directive is a server without locations (HTTP to HTTPS)."""
    if directive.name != "server":
        return False
    return not any(inner.name == "location" for inner in directive.block)
