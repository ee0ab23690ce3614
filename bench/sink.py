"""A webhook sink on 127.0.0.1 for the delivery benchmarks: answers every POST 200 after
``latency`` seconds and counts what it took, per alert.

It runs in processes of its own, each an asyncio loop on its own port, the alerts spread
over them by path, so that it is never the bottleneck measured: in the benchmark's own
process it would compete with the sender for the interpreter lock. A real channel runs on
machines of its own; this one shares the deliverers' CPUs, so it speaks the least HTTP a
webhook sender needs, on an ``asyncio.Protocol``: aiohttp's request and response objects
cost 0.5-0.9 ms of CPU per message, taken from the deliverers it measures. ``GET /counts`` on each port returns {path: times
received} (one subscriber, hence one alert, per path); ``GET /received`` how many paths
came at least once.
"""
from __future__ import annotations

import asyncio
import json
import multiprocessing
import urllib.request
import zlib

from bench.procfs import cpu_seconds


class _Hook(asyncio.Protocol):
    """One connection's HTTP/1.1, as little of it as a webhook sender needs: requests read
    whole (Content-Length), each POST answered ``200`` after ``latency`` on the same
    connection, kept open. A POST counts once it is answered on a connection still open,
    as a channel counts a message it accepted: one whose sender died waiting is not."""

    def __init__(self, counts, latency: float) -> None:
        self.counts, self.latency = counts, latency
        self.buffer = b""
        self.transport = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def connection_lost(self, exc) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].split(b"\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head[1:]
                           if line[:15].lower() == b"content-length:"), 0)
            if len(self.buffer) < end + 4 + length:
                return  # the body is still coming
            self.buffer = self.buffer[end + 4 + length:]
            method, target = head[0].split(b" ")[:2]
            path = target.split(b"?", 1)[0].decode()
            if method == b"GET":
                self._json(dict(self.counts) if path == "/counts" else len(self.counts))
            elif self.latency:
                asyncio.get_running_loop().call_later(self.latency, self._accept, path)
            else:
                self._accept(path)

    def _accept(self, path: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.counts[path] += 1
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    def _json(self, value) -> None:
        body = json.dumps(value).encode()
        self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                             + str(len(body)).encode() + b"\r\n\r\n" + body)


def _serve(ports, latency: float) -> None:
    from collections import Counter

    counts: Counter = Counter()

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(
            lambda: _Hook(counts, latency), "127.0.0.1", 0, backlog=1024)
        ports.put(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    asyncio.run(main())


class Sink:
    def __init__(self, latency: float = 0.0, workers: int = 2) -> None:
        ctx = multiprocessing.get_context("spawn")
        ports = ctx.Queue()
        self._processes = [ctx.Process(target=_serve, args=(ports, latency), daemon=True) for _ in range(workers)]
        for p in self._processes:
            p.start()
        self.ports = sorted(ports.get(timeout=60) for _ in self._processes)

    def url(self, path: str = "/hook") -> str:
        port = self.ports[zlib.crc32(path.encode()) % len(self.ports)]
        return f"json://127.0.0.1:{port}{path}"

    def _get(self, port: int, what: str):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/{what}", timeout=30) as answer:
            return json.loads(answer.read())

    def counts(self) -> dict[str, int]:
        """{path: times received}."""
        return {path: n for port in self.ports for path, n in self._get(port, "counts").items()}

    def received(self) -> int:
        """Alerts received at least once."""
        return sum(self._get(port, "received") for port in self.ports)

    def cpu(self) -> float:
        """CPU seconds its processes used so far: on the machine it shares, what it takes from the deliverers."""
        return sum(cpu_seconds(p.pid) for p in self._processes)

    def stop(self) -> None:
        for p in self._processes:
            p.terminate()
        for p in self._processes:
            p.join(10)
