"""The two reference servers the benchmarks measure chatapp against: a room broadcast
with nothing else to do.

Both relay a frame {"body": ...} to every socket of its room, the sender's included, as
`<div id="messages" hx-swap-oob="beforeend"><article id="msg-N">body</article></div>`
(N counts per room), and ignore every other frame (the resume and read frames that the
clients send, as chatapp's page does). Neither negotiates permessage-deflate, as chatapp
does not. `websockets_main` is a bare `websockets` (asyncio) server:

    .venv/bin/python -m bench.references --port 8765

`app` is a minimal Flask + flask-sock app for gunicorn with chatapp's own settings:

    .venv/bin/gunicorn --config deploy/gunicorn.conf.py bench.references:app
"""

import argparse
import asyncio
import itertools
import json
from collections import defaultdict

from flask import Flask, render_template_string, request
from flask_sock import Sock
from markupsafe import escape
from simple_websocket import ConnectionClosed

PAGE = """<!doctype html><html lang="en"><head><title>{{ title }}</title></head>
<body><main><h1>{{ title }}</h1><ul>{% for n in range(30) %}<li>{{ n }}</li>{% endfor %}
</ul></main></body></html>"""


def frame_for(counter, data):
    """The broadcast frame for a client's frame, or None for anything but a message."""
    try:
        sent = json.loads(data)
    except ValueError:
        return None
    if not isinstance(sent, dict) or not isinstance(sent.get("body"), str):
        return None
    return (
        '<div id="messages" hx-swap-oob="beforeend">'
        f'<article id="msg-{next(counter)}">{escape(sent["body"])}</article></div>'
    )


async def serve_websockets(host, port):
    """Run the bare websockets server until cancelled."""
    import websockets
    from websockets.asyncio.server import broadcast, serve

    rooms = defaultdict(set)
    counters = defaultdict(lambda: itertools.count(1))

    async def relay(connection):
        room = rooms[connection.request.path]
        room.add(connection)
        try:
            async for data in connection:
                html = frame_for(counters[connection.request.path], data)
                if html is not None:
                    broadcast(room, html)
        except websockets.ConnectionClosed:
            pass
        finally:
            room.discard(connection)

    async with serve(relay, host, port, compression=None, max_size=64 * 1024):
        await asyncio.get_running_loop().create_future()


def websockets_main(argv=None):
    """Serve the bare websockets reference on a port."""
    parser = argparse.ArgumentParser(description="the bare websockets reference server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    options = parser.parse_args(argv)
    asyncio.run(serve_websockets(options.host, options.port))


app = Flask(__name__)
sock = Sock(app)
_rooms = defaultdict(set)
_counters = defaultdict(lambda: itertools.count(1))


@app.before_request
def decline_extensions():
    """Answer the handshake without permessage-deflate, as chatapp does."""
    request.environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)


@app.get("/page")
def page():
    """A small page rendered from a template, for requests per second."""
    return render_template_string(PAGE, title="reference")


@sock.route("/room/<name>/ws")
def room_socket(ws, name):
    """Relay every message to every socket of the room."""
    room = _rooms[name]
    room.add(ws)
    try:
        while True:
            html = frame_for(_counters[name], ws.receive())
            if html is not None:
                for member in tuple(room):
                    try:
                        member.send(html)
                    except ConnectionClosed:
                        room.discard(member)
    finally:
        room.discard(ws)


if __name__ == "__main__":
    websockets_main()
