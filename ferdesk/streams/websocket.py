"""A WebSocket server on 127.0.0.1 (``--stream ws`` or ``ws:PORT``, default port 8765), with ``websockets``.

Each client gets a ``hello`` message on connecting, then one JSON text message per processed frame
(``frame_message``) and one per marker (``marker_message``); docs/streaming.md has the schema. The server runs
its own event loop on its own thread; the runner only hands it messages. A client that reads too slowly (more
than ``MAX_BUFFER`` bytes waiting to be sent to it) misses frames until it catches up, and ``dropped`` counts
them. Only this machine can connect: the server listens on the loopback address.
"""
from __future__ import annotations

import asyncio
import json
import threading

from ferdesk.errors import StreamError
from ferdesk.streams.base import SCHEMA_VERSION, Stream, frame_message, marker_message, require, streams
from ferdesk.types import FrameResult

DEFAULT_PORT = 8765
MAX_BUFFER = 1 << 20


@streams.register("ws")
class WebSocketStream(Stream):
    @classmethod
    def availability(cls) -> tuple[bool, str]:
        try:
            import websockets  # noqa: F401
        except ImportError as e:
            return False, f"websockets is not installed ({e}); pip install 'ferdesk[stream]'"
        return True, ""

    def open(self, meta: dict) -> None:
        require("websockets")
        from websockets.asyncio.server import serve

        try:
            self.port = int(self.arg) if self.arg else DEFAULT_PORT
            if not 0 <= self.port <= 65535:
                raise ValueError
        except ValueError:
            raise StreamError(f"stream 'ws:{self.arg}': give a port number from 1 to 65535") from None
        self.hello = json.dumps({"type": "hello", "schema_version": SCHEMA_VERSION, "model": meta.get("model"),
                                 "labels": list(meta["labels"]), "source": meta.get("source")})
        self.clients: set = set()
        self.dropped = 0
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        async def handler(connection):
            self.clients.add(connection)
            try:
                await connection.send(self.hello)
                await connection.wait_closed()
            finally:
                self.clients.discard(connection)

        async def start():
            try:
                self.server = await serve(handler, "127.0.0.1", self.port)
            except OSError as e:
                failure.append(e)
            ready.set()

        def run():
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(start())
            if not failure:
                self.loop.run_forever()
            self.loop.close()

        self.thread = threading.Thread(target=run, name="ferdesk-websocket", daemon=True)
        self.thread.start()
        ready.wait(10)
        if failure:
            self.thread.join(5)
            e = failure[0]
            raise StreamError(f"cannot serve WebSockets on 127.0.0.1:{self.port}: {getattr(e, 'strerror', None) or e}")
        if self.port == 0:   # an ephemeral port (the tests): say which
            self.port = self.server.sockets[0].getsockname()[1]

    def _broadcast(self, text: str) -> None:   # in the server's loop
        from websockets.asyncio.server import broadcast

        ready = []
        for c in self.clients:
            if c.transport is not None and c.transport.get_write_buffer_size() > MAX_BUFFER:
                self.dropped += 1
            else:
                ready.append(c)
        broadcast(ready, text)

    def _post(self, message: dict) -> None:
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._broadcast, json.dumps(message))

    def send(self, result: FrameResult, meta: dict) -> None:
        if self.clients:
            self._post(frame_message(result, meta))

    def marker(self, label: str, text: str, frame: int | None, time_s: float | None, wall_time: float) -> None:
        self._post(marker_message(label, text, frame, time_s, wall_time))

    def describe(self) -> str:
        return f"WebSocket server ws://127.0.0.1:{self.port}"

    def close(self) -> None:
        async def stop():
            self.server.close()
            await self.server.wait_closed()
            self.loop.stop()

        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(stop(), self.loop)
            self.thread.join(5)
