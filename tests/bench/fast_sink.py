"""A minimal, fast stand-in for the Kinsta API, for the lateness benchmark.

The simulator is a threaded Python server: fifty requests arriving in the
same millisecond queue behind each other there, which hides what the daemon
itself does.  This sink runs one asyncio loop in a thread, answers the two
calls a clear-cache run makes (POST /sites/tools/clear-cache -> 202 with an
operation id, GET /operations/ID -> 200) and records the moment each
request's head arrived.  Loopback only.
"""
import asyncio
import json
import threading
import time


class FastSink:
    def __init__(self):
        self.requests = []  # (arrival time, method, path, body)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)
        self.base_url = "http://127.0.0.1:%d/v2" % self.port

    def _run(self):
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=256))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, reader, writer):
        n = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                t = time.time()
                lines = head.decode("latin-1").split("\r\n")
                method, path = lines[0].split(" ")[:2]
                length = 0
                for l in lines[1:]:
                    if l.lower().startswith("content-length:"):
                        length = int(l.split(":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                n += 1
                self.requests.append((t, method, path, body))
                if method == "POST":
                    status, doc = 202, {"operation_id": "cache:clear-%d-%d"
                                        % (id(writer), n),
                                        "message": "in progress",
                                        "status": 202}
                else:
                    status, doc = 200, {"status": 200, "message":
                                        "Successfully finished request."}
                out = json.dumps(doc).encode()
                writer.write(b"HTTP/1.1 %d X\r\nContent-Type: application/json"
                             b"\r\nContent-Length: %d\r\n\r\n%s"
                             % (status, len(out), out))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    def stop(self):
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
