"""A small HTTP/1.1 server on one asyncio event loop in one background
thread, that knows nothing of what it serves.

Each request goes, once its head is read, to the handler: a coroutine
handler(request) that reads the body (request.read_body()) and answers with
request.respond(), request.stream() or request.reset(). The handler runs on
the loop thread; only its waits (the network, asyncio.sleep) let the other
connections in.

Connections are raw non-blocking sockets read with recvmsg() rather than
asyncio streams or protocols, because only recvmsg() hands over the
kernel's receive timestamp (SO_TIMESTAMPING): request.arrived is when the
request's first byte reached the socket, not when this process got round
to it. Keep-alive, Content-Length and chunked request bodies, one write per
answer, TCP_NODELAY. With an ssl_context it speaks HTTPS through
ssl.MemoryBIO, so that reads still carry their timestamps.

Requests it cannot serve (a bad request line or header, a head over
MAX_HEAD, HTTP/2 and up, an unknown method) it refuses itself with a JSON
{"status", "message"} body, and closes the connection.
"""

import asyncio
import email.utils
import http
import json
import re
import socket
import ssl
import struct
import threading
import time
from collections import deque

MAX_BODY = 1 << 20       # request body limit; read_body() says "too large" above it
MAX_HEAD = 64 * 1024     # request line + header fields limit; 431 above it
IDLE_TIMEOUT = 300.0     # a keep-alive connection may idle, or a read or write stall, this long
IDLE_SWEEP = 10.0        # how often connections are checked against IDLE_TIMEOUT
RECV_SIZE = 65536
MAX_QUEUED = 256 * 1024  # bytes read ahead of the parser before reading pauses
JSON_TYPE = "application/json; charset=utf-8"

# Linux's SO_TIMESTAMPING: with these flags every recvmsg() on a TCP socket
# carries an SCM_TIMESTAMPING cmsg whose first timespec is the software
# receive time of the data it returns.
_SO_TIMESTAMPING = 37
_SOF_TIMESTAMPING = 0x8 | 0x10    # SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE
_TIMESPEC = struct.Struct("qq")
_CMSG_ROOM = 1024

_METHODS = frozenset(("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"))
# RFC 9112: method SP request-target SP HTTP-version, then field lines
# "name: value"; no line folding, no whitespace before the colon.
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_REQUEST_LINE_RE = re.compile(r"(%s) ([\x21-\x7e]+) HTTP/([0-9])\.([0-9])\r?\n" % _TOKEN)
_FIELD_RE = re.compile(r"(%s):[ \t]*([^\r\n\0]*)\r?\n" % _TOKEN)   # greedy: no backtracking
_FIELDS_RE = re.compile(r"(?:%s:[^\r\n\0]*\r?\n)*" % _TOKEN)
_HEAD_END_RE = re.compile(rb"\r?\n\r?\n")
_CHUNK_SIZE_RE = re.compile(rb"[0-9A-Fa-f]+\Z")
_REASONS = {s.value: s.phrase for s in http.HTTPStatus}
_date = (0, "")   # (second, Date header value): formatting it is the dearest part of a head


def _http_date():
    global _date
    now = int(time.time())
    if now != _date[0]:
        _date = (now, email.utils.formatdate(now, usegmt=True))
    return _date[1]


def _enable_timestamps(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPING, _SOF_TIMESTAMPING)
    except OSError:
        pass   # not Linux: requests are stamped when they are read instead


def _rx_time(ancdata):
    """The kernel receive time in recvmsg()'s ancillary data, or None."""
    for level, kind, cdata in ancdata:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPING and len(cdata) >= 16:
            sec, nsec = _TIMESPEC.unpack_from(cdata)
            if sec or nsec:
                return sec + nsec * 1e-9
    return None


class _Closed(Exception):
    """The connection is gone, timed out, or must not be used any more."""


class Headers:
    """A request's header fields.

    Like the email.message.Message that http.server used to hand over,
    get() ignores case and gives the first field of a name, and items()
    gives every field as sent, in order."""

    __slots__ = ("_fields", "_first")

    def __init__(self, fields):
        self._fields = fields
        first = {}
        for name, value in fields:
            first.setdefault(name.lower(), value)
        self._first = first

    def get(self, name, default=None):
        return self._first.get(name.lower(), default)

    def get_all(self, name):
        name = name.lower()
        return [v for k, v in self._fields if k.lower() == name]

    def items(self):
        return list(self._fields)

    def __contains__(self, name):
        return name.lower() in self._first

    def __getitem__(self, name):
        return self._first.get(name.lower())




class Request:
    """One request, as the handler sees it, and the means to answer it.

    method, target (as sent), version ((1, 1)), headers (Headers), arrived
    (the kernel's receive time of its first byte, epoch seconds; time.time()
    when the kernel gives none), client (the peer's address tuple)."""

    __slots__ = ("method", "target", "version", "headers", "arrived", "client", "_conn",
                 "_body_read")

    def __init__(self, conn):
        self._conn = conn
        self.method = conn.command
        self.target = conn.path
        self.version = conn.version
        self.headers = conn.headers
        self.arrived = conn.arrived
        self.client = conn.client_address
        self._body_read = False

    async def read_body(self):
        """(bytes, None), or (None, why) when the body cannot be had: "too
        large" (over MAX_BODY), "truncated body", "bad chunk size", ...;
        then the connection closes after the answer."""
        self._body_read = True
        body, err = await self._conn._read_body()
        if body is None:
            self._conn.close_connection = True
        return body, err

    async def respond(self, status, body, headers=None, ctype=JSON_TYPE):
        """The answer, head and body in one write (no body to a HEAD)."""
        await self._conn._send(status, body, headers, ctype)

    async def stream(self, status, total, chunks, headers=None, interval=0.0, ctype=JSON_TYPE):
        """The head (Content-Length total), then each chunk in its own
        write, interval seconds apart."""
        await self._conn._stream(status, total, chunks, headers, interval, ctype)

    def close_after(self):
        """Close the connection once this request is done."""
        self._conn.close_connection = True

    def reset(self):
        """Close the connection at once with a TCP RST (SO_LINGER 0), unanswered."""
        self._conn._reset()


class _Conn:
    """One client connection, served by one task: its requests in order."""

    def __init__(self, server, sock, addr):
        self.server = server
        self.loop = server._loop
        self.sock = sock
        self.fd = sock.fileno()
        self.client_address = addr
        self.closed = False
        # _on_readable reads ahead into _incoming; the task takes from there
        self._incoming = deque()    # (bytes as received, kernel time)
        self._queued = 0            # bytes in _incoming
        self._reading = False       # the socket is registered with the loop for reading
        self._eof = False
        self._waiter = None         # the future the task waits on for the socket
        self.waiting_since = None   # loop time that wait began (for the idle sweep)
        self.buf = bytearray()      # received request bytes not parsed yet
        self.base = 0               # stream offset of buf[0]
        self.arrivals = deque()     # (stream offset just past one recv's bytes, its kernel time)
        self.tls = None
        if server.ssl_context is not None:
            self._tls_in, self._tls_out = ssl.MemoryBIO(), ssl.MemoryBIO()
            self.tls = server.ssl_context.wrap_bio(self._tls_in, self._tls_out, server_side=True)
        # the request being served
        self.command = self.path = self.headers = None
        self.version = (1, 1)
        self.arrived = None
        self.close_connection = False

    # ---- the connection's life --------------------------------------------
    async def serve(self):
        try:
            self._start_reading()
            if self.tls is not None:
                await self._tls_handshake()
            while not self.close_connection:
                if not await self._read_head():
                    break
                req = Request(self)
                await self.server.handler(req)
                if not req._body_read:   # its body is still in the way of the next request
                    self.close_connection = True
        except _Closed:
            pass
        except Exception as exc:   # a bug; the other connections carry on
            self.server._log_error(self.client_address, exc)
        finally:
            self._close()
            self.server._conns.pop(self, None)

    def _close(self):
        if not self.closed:
            self._stop_reading()
            self.closed = True
            self.sock.close()

    # ---- socket I/O ---------------------------------------------------------
    # The socket stays registered for reading while the connection lives, so
    # that waiting for the next request costs no epoll_ctl() calls; reading
    # pauses only when the task falls MAX_QUEUED behind.

    def _start_reading(self):
        if not self._reading and not self._eof and not self.closed:
            self._reading = True
            self.loop.add_reader(self.fd, self._on_readable)

    def _stop_reading(self):
        if self._reading:
            self._reading = False
            self.loop.remove_reader(self.fd)

    def _on_readable(self):
        try:
            data, anc, _flags, _addr = self.sock.recvmsg(RECV_SIZE, _CMSG_ROOM)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""   # reset by the peer: the stream ends here all the same
        if data:
            self._incoming.append((data, _rx_time(anc)))
            self._queued += len(data)
            if self._queued > MAX_QUEUED:
                self._stop_reading()
        else:
            self._eof = True
            self._stop_reading()
        self._wake()

    def _wake(self, exc=None):
        w = self._waiter
        if w is not None and not w.done():
            if exc is None:
                w.set_result(None)
            else:
                w.set_exception(exc)

    async def _wait(self):
        """Wait for _wake(): data, the end of the stream, a writable socket,
        or the idle sweep's _Closed."""
        self._waiter = self.loop.create_future()
        self.waiting_since = self.loop.time()
        try:
            await self._waiter
        finally:
            self._waiter = self.waiting_since = None

    async def _recv(self):
        """The next bytes received (b"" at the end of the stream) and their
        kernel arrival time, or None."""
        while not self._incoming:
            if self._eof:
                return b"", None
            await self._wait()
        data, ts = self._incoming.popleft()
        self._queued -= len(data)
        if self._queued <= MAX_QUEUED:
            self._start_reading()
        return data, ts

    async def _send_raw(self, data):
        # The first send() nearly always takes everything: then nothing waits.
        view = memoryview(data)
        while True:
            try:
                n = self.sock.send(view)
            except (BlockingIOError, InterruptedError):
                n = 0
            except OSError as exc:
                raise _Closed(exc) from None
            if n == len(view):
                return
            view = view[n:]
            self.loop.add_writer(self.fd, self._wake)
            try:
                await self._wait()
            finally:
                self.loop.remove_writer(self.fd)

    async def _write(self, data):
        if self.tls is not None:
            try:
                self.tls.write(data)
            except ssl.SSLError as exc:
                raise _Closed(exc) from None
            data = self._tls_out.read()
        await self._send_raw(data)

    async def _fill(self):
        """Read more of the request stream into buf.  False at its end."""
        while True:
            data, ts = await self._recv()
            if self.tls is not None:
                if data:
                    self._tls_in.write(data)
                else:
                    self._tls_in.write_eof()
                got, eof = self._tls_read(ts)
                if self._tls_out.pending:
                    await self._send_raw(self._tls_out.read())
                if got:
                    return True
                if eof:
                    return False
                continue
            if not data:
                return False
            self._append(data, ts)
            return True

    def _append(self, data, ts):
        self.buf += data
        self.arrivals.append((self.base + len(self.buf), ts))

    def _consume(self, n):
        del self.buf[:n]
        self.base += n

    def _arrival(self):
        """The kernel arrival time of buf[0], or None."""
        arr = self.arrivals
        while arr and arr[0][0] <= self.base:
            arr.popleft()
        return arr[0][1] if arr else None

    # ---- TLS (a MemoryBIO pair, so that reads still go through recvmsg) ---------
    async def _tls_handshake(self):
        ts = None
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as exc:   # e.g. the client refused our certificate
                if self._tls_out.pending:
                    try:
                        await self._send_raw(self._tls_out.read())
                    except _Closed:
                        pass
                raise _Closed(exc) from None
            if self._tls_out.pending:
                await self._send_raw(self._tls_out.read())
            data, ts = await self._recv()
            if not data:
                raise _Closed("end of stream during the TLS handshake")
            self._tls_in.write(data)
        if self._tls_out.pending:
            await self._send_raw(self._tls_out.read())
        # the client may have sent its first request along with its Finished
        self._tls_read(ts)

    def _tls_read(self, ts):
        """Decrypt what has come in into buf: (got some, end of stream)."""
        got = False
        try:
            while True:
                data = self.tls.read(RECV_SIZE)
                if not data:
                    return got, True
                self._append(data, ts)
                got = True
        except ssl.SSLWantReadError:
            return got, False
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return got, True
        except ssl.SSLError as exc:
            raise _Closed(exc) from None

    # ---- request parsing ---------------------------------------------------
    async def _read_head(self):
        """Read and parse the next request's head.  False when the client is done."""
        buf = self.buf
        scan = 0
        while True:
            # empty lines before a request line are allowed (RFC 9112 2.2)
            i = 0
            while i < len(buf) and buf[i] in b"\r\n":
                i += 1
            if i:
                self._consume(i)
            if buf:
                break
            if not await self._fill():
                return False
        arrived = self._arrival()
        self.arrived = arrived if arrived is not None else time.time()
        self.command = None
        while True:
            m = _HEAD_END_RE.search(buf, scan)
            if m:
                break
            if len(buf) > MAX_HEAD:
                await self._refuse(431, "request head larger than %d bytes" % MAX_HEAD)
                return False
            scan = max(0, len(buf) - 3)
            if not await self._fill():
                return False   # a partial head: nobody to answer
        # up to and including the last field line's end, not the empty line after it
        head = bytes(buf[:m.start() + (2 if buf[m.start()] == 13 else 1)])
        self._consume(m.end())
        if len(head) > MAX_HEAD:
            await self._refuse(431, "request head larger than %d bytes" % MAX_HEAD)
            return False
        err = self._parse_head(head.decode("latin-1"))
        if err:
            await self._refuse(*err)
            return False
        return True

    def _parse_head(self, text):
        """Fills command, path, version, headers and close_connection; or
        returns (status, message) to refuse the request with.  text ends
        with the last field line's end."""
        m = _REQUEST_LINE_RE.match(text)
        if not m:
            return 400, "bad request line"
        method, target = m.group(1), m.group(2)
        self.version = (int(m.group(3)), int(m.group(4)))
        if self.version[0] != 1:
            return 505, "HTTP version not supported"
        fields = text[m.end():]
        if not _FIELDS_RE.fullmatch(fields):
            return 400, "bad header line"
        self.headers = Headers([(k, v.rstrip(" \t")) for k, v in _FIELD_RE.findall(fields)])
        conn = self.headers.get("Connection")
        tokens = {t.strip().lower() for t in conn.split(",")} if conn else ()
        if self.version >= (1, 1):
            self.close_connection = "close" in tokens
        else:
            self.close_connection = "keep-alive" not in tokens
        if method not in _METHODS:
            return 501, "unsupported method %s" % method
        if target.startswith("//"):   # not a network-path reference: http.server did the same
            target = "/" + target.lstrip("/")
        self.command, self.path = method, target
        return None

    async def _refuse(self, status, message):
        """Answer a request that cannot be served, and close the connection."""
        self.close_connection = True
        body = json.dumps({"status": status, "message": message}).encode()
        try:
            await self._write(self._head(status, len(body), None, JSON_TYPE) + body)
        except _Closed:
            pass

    async def _line(self, limit):
        """The next line of the body (CRLF or LF), without its end; None at
        the end of the stream, False if it is longer than limit."""
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[:i]).removesuffix(b"\r")
                self._consume(i + 1)
                return line if len(line) <= limit else False
            if len(self.buf) > limit + 1:
                return False
            if not await self._fill():
                return None

    async def _take(self, n):
        """The next n bytes of the stream, or None if it ends before."""
        while len(self.buf) < n:
            if not await self._fill():
                return None
        data = bytes(self.buf[:n])
        self._consume(n)
        return data

    async def _continue(self):
        if self.version >= (1, 1) and self.headers.get("Expect", "").lower() == "100-continue":
            await self._write(b"HTTP/1.1 100 Continue\r\n\r\n")

    async def _read_body(self):
        """Returns (bytes or None, error string or None)."""
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            await self._continue()
            out = bytearray()
            while True:
                line = await self._line(1024)
                if line is None:
                    return None, "truncated chunked body"
                if line is False:
                    return None, "bad chunk size"
                size = line.split(b";", 1)[0].strip(b" \t")
                if not _CHUNK_SIZE_RE.match(size):
                    return None, "bad chunk size"
                size = int(size, 16)
                if size == 0:
                    while True:   # trailer fields, ignored
                        t = await self._line(8192)
                        if t is False:
                            return None, "bad trailer"
                        if not t:
                            return bytes(out), None
                if len(out) + size > MAX_BODY:
                    return None, "too large"
                data = await self._take(size + 2)
                if data is None:
                    return None, "truncated chunked body"
                if data[-2:] != b"\r\n":
                    return None, "bad chunk"
                out += data[:-2]
        lengths = self.headers.get_all("Content-Length")
        if not lengths:
            return b"", None
        cl = lengths[0]
        if not (cl.isascii() and cl.isdigit()) or any(x != cl for x in lengths):
            return None, "bad content-length"
        n = int(cl)
        if n > MAX_BODY:
            return None, "too large"
        if not n:
            return b"", None
        await self._continue()
        data = await self._take(n)
        if data is None:
            return None, "truncated body"
        return data, None


    # ---- responses -----------------------------------------------------------
    def _head(self, status, length, headers, ctype):
        lines = ["HTTP/1.1 %d %s\r\nServer: %s\r\nDate: %s\r\nContent-Type: %s\r\n"
                 "Content-Length: %d\r\n" % (status, _REASONS.get(status, ""),
                                             self.server.server_name, _http_date(), ctype,
                                             length)]
        if headers:
            for k, v in headers.items():
                lines.append("%s: %s\r\n" % (k, v))
        if self.close_connection:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("latin-1")

    async def _send(self, status, body_bytes, headers=None, ctype=JSON_TYPE):
        # head and body in one write: no Nagle / delayed-ACK stall between them
        data = self._head(status, len(body_bytes), headers, ctype)
        if self.command != "HEAD":
            data += body_bytes
        await self._write(data)

    async def _stream(self, status, total, chunks, headers, interval, ctype=JSON_TYPE):
        await self._write(self._head(status, total, headers, ctype))
        if self.command == "HEAD":
            return
        for c in chunks:
            await self._write(c)
            # the trickle's pause; at full speed (0) still a turn for the other connections
            await asyncio.sleep(interval)

    def _reset(self):
        self.close_connection = True
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self._close()


class HttpServer:
    """The server: HttpServer(handler, host, port).start(); .port; .stop().

    handler is a coroutine function taking a Request. ssl_context (a
    server-side ssl.SSLContext) makes it speak HTTPS; server_name is its
    Server header; on_error(client_address, exc) hears of what broke a
    connection (nothing by default)."""

    def __init__(self, handler, host="127.0.0.1", port=0, ssl_context=None,
                 server_name="http-server/1.0", on_error=None, thread_name="http-server"):
        self.handler = handler
        self.host = host
        self.ssl_context = ssl_context
        self.server_name = server_name
        self.on_error = on_error
        self.thread_name = thread_name
        self._want_port = port
        self._listener = None
        self._port = None
        self._loop = None
        self._thread = None
        self._conns = {}         # _Conn -> its task; touched on the loop thread only
        self._life = threading.Lock()
        self._stopped = False

    def bind(self):
        """Listen now (so that .port is known), serve from start()."""
        if self._listener is not None:
            return self
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self._want_port))
            sock.listen(128)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        # on the listener too, so that the kernel stamps packets before accept()
        _enable_timestamps(sock)
        self._listener = sock
        self._port = sock.getsockname()[1]
        return self

    def start(self):
        with self._life:
            if self._stopped:
                raise RuntimeError("a stopped server does not start again")
            if self._thread is not None:
                return self
            if self._listener is None:
                self.bind()
            self._loop = asyncio.new_event_loop()
            running = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(running,),
                                            name=self.thread_name, daemon=True)
            self._thread.start()
        if not running.wait(10):
            raise RuntimeError("the server's event loop did not start")
        return self

    def _run(self, running):
        loop = self._loop
        asyncio.set_event_loop(loop)
        fd = self._listener.fileno()
        loop.add_reader(fd, self._accept)
        loop.call_later(IDLE_SWEEP, self._sweep)
        loop.call_soon(running.set)
        try:
            loop.run_forever()
        finally:
            loop.remove_reader(fd)
            tasks = list(self._conns.values())
            for t in tasks:
                t.cancel()
            if tasks:
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            for conn in list(self._conns):
                conn._close()
            loop.close()

    def _accept(self):
        while True:
            try:
                sock, addr = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue   # the client gave up before we got to it
            except OSError as exc:
                # out of file descriptors, say: let go of the listener for a moment
                # rather than spin on it
                self._log_error(("-",), exc)
                fd = self._listener.fileno()
                self._loop.remove_reader(fd)
                self._loop.call_later(0.1, self._loop.add_reader, fd, self._accept)
                return
            try:
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:   # already reset by the client
                sock.close()
                continue
            _enable_timestamps(sock)
            conn = _Conn(self, sock, addr)
            self._conns[conn] = self._loop.create_task(conn.serve())

    def _sweep(self):
        # one timer for all connections rather than one per wait: most waits are short
        limit = self._loop.time() - IDLE_TIMEOUT
        for conn in list(self._conns):
            if conn.waiting_since is not None and conn.waiting_since < limit:
                conn._wake(_Closed("idle for %d s" % IDLE_TIMEOUT))
        self._loop.call_later(IDLE_SWEEP, self._sweep)


    def _log_error(self, client_address, exc):
        if self.on_error is not None:
            self.on_error(client_address, exc)

    @property
    def port(self):
        return self._port

    @property
    def url(self):
        """scheme://host:port, with an IPv6 host in brackets."""
        h = "[%s]" % self.host if ":" in self.host else self.host
        scheme = "https" if self.ssl_context is not None else "http"
        return "%s://%s:%d" % (scheme, h, self.port)

    def stop(self):
        """Stop serving: hung and streaming answers are cut off, every socket closed."""
        with self._life:
            if self._stopped:
                return
            self._stopped = True
        if self._thread is not None:
            try:
                self._loop.call_soon_threadsafe(self._loop.stop)
            except RuntimeError:
                pass   # the loop has already closed
            self._thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
