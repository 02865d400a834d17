"""An example bot for chatapp: it answers "ping" with "pong".

Needs Python 3.11 and one package beside the standard library:

    pip install websockets

Run it with a token (POST /api/v1/tokens, or "API tokens" on the profile page), given as
an argument or in CHATAPP_TOKEN:

    python examples/bot.py --url http://127.0.0.1:8000 --token chatapp_...
    CHATAPP_TOKEN=chatapp_... python examples/bot.py --url https://chat.example.org

It finds its rooms through the HTTP API (GET /api/v1/rooms), subscribes to each on the
event socket (WS /api/v1/ws, described in docs/asyncapi.yaml), and subscribes to rooms it
joins later. Every message that is just "ping" gets "pong" in the same room, personally
when the ping was personal. It remembers the last message id of each room, so after a
reconnect it subscribes with "after" and answers what it missed, once. It reconnects with
exponential backoff and jitter; a refused or revoked token stops it.
"""

import argparse
import asyncio
import json
import logging
import os
import random
import sys
import urllib.error
import urllib.request

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

log = logging.getLogger("bot")
FIRST_DELAY_SECONDS = 0.5
LONGEST_DELAY_SECONDS = 30
POLICY_VIOLATION = 1008


class TokenRefused(Exception):
    """The server does not take the token: retrying cannot help."""


class Bot:
    """Answers pings in every room it is a member of, across reconnects."""

    def __init__(self, url, token):
        self.url = url.rstrip("/")
        self.token = token
        self.username = None
        self.last_ids = {}  # room name -> the newest message id seen there
        self.answered = set()  # ids of the pings answered

    def call(self, method, path, body=None):
        """One HTTP API request; its JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        request = urllib.request.Request(self.url + "/api/v1" + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read() or "null")
        except urllib.error.HTTPError as error:
            if error.code == 401:
                raise TokenRefused("the server refused the token") from None
            raise

    async def run(self):
        """Serve until the token is refused, reconnecting whenever the connection is lost."""
        failures = 0
        while True:
            try:
                await self.serve()
                failures = 0
            except TokenRefused as refusal:
                log.error("%s; stopping", refusal)
                return
            except (OSError, ConnectionClosed, InvalidStatus, urllib.error.URLError) as error:
                log.warning("connection lost: %s", error)
            failures += 1
            delay = min(LONGEST_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2 ** (failures - 1))
            await asyncio.sleep(random.uniform(delay / 2, delay))

    async def serve(self):
        """Find my rooms, open the socket, subscribe, and answer until the socket closes."""
        me = await asyncio.to_thread(self.call, "GET", "/me")
        self.username = me["username"]
        listed = await asyncio.to_thread(self.call, "GET", "/rooms")
        rooms = [room["name"] for room in listed["rooms"] if room["role"] is not None]
        socket_url = self.url.replace("http", "ws", 1) + "/api/v1/ws"
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            async with connect(socket_url, additional_headers=headers) as socket:
                for room in rooms:
                    await self.subscribe(socket, room)
                log.info("listening in %d rooms as %s", len(rooms), self.username)
                async for frame in socket:
                    await self.handle(socket, json.loads(frame))
        except InvalidStatus as refused:
            if refused.response.status_code == 401:
                raise TokenRefused("the server refused the token") from None
            raise
        except ConnectionClosed as closed:
            if closed.rcvd is not None and closed.rcvd.code == POLICY_VIOLATION:
                raise TokenRefused("the token was revoked") from None
            raise

    async def subscribe(self, socket, room):
        """Hear a room, from after the last message seen there when there was one."""
        request = {"type": "subscribe", "room": room}
        if room in self.last_ids:
            request["after"] = self.last_ids[room]
        await socket.send(json.dumps(request))

    async def handle(self, socket, event):
        """Act on one event."""
        kind = event["type"]
        if kind == "message":
            await self.on_message(socket, event["message"])
        elif kind == "member" and event["user"] == self.username and event["change"] == "joined":
            await self.subscribe(socket, event["room"])
        elif kind == "room_changed" and event["old_name"] in self.last_ids:
            self.last_ids[event["room"]["name"]] = self.last_ids.pop(event["old_name"])
        elif kind == "subscribed":
            log.info("subscribed to %s", event["room"])
        elif kind == "error":
            log.warning("refused: %s", event["message"])

    async def on_message(self, socket, message):
        """Answer a ping, once."""
        room = message["room"]
        self.last_ids[room] = max(message["id"], self.last_ids.get(room, 0))
        if message["author"] in (None, self.username) or message["id"] in self.answered:
            return
        if message["body"].strip().lower() == "ping":
            self.answered.add(message["id"])
            personal = message["recipient"] is not None
            reply = {"type": "send", "room": room, "body": "pong"}
            if personal:
                reply["to"] = message["author"]
            await socket.send(json.dumps(reply))
            log.info("answered %s in %s%s", message["author"], room, " personally" * personal)


def main():
    """Read the arguments and run the bot until it is stopped."""
    parser = argparse.ArgumentParser(description="Answer ping with pong in every room.")
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="where chatapp is")
    parser.add_argument("--token", default=os.environ.get("CHATAPP_TOKEN"), help="API token")
    arguments = parser.parse_args()
    if not arguments.token:
        parser.error("give a token with --token or CHATAPP_TOKEN")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        asyncio.run(Bot(arguments.url, arguments.token).run())
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
