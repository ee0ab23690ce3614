"""A webhook sink on 127.0.0.1 for the delivery benchmarks: answers every POST 200 after
``latency`` seconds and counts what it took, per alert.

It runs in processes of its own, each an asyncio loop (aiohttp) on its own port, the
alerts spread over them by path, so that it is never the bottleneck measured: one
process tops out near the rates several deliverers reach on a busy machine, a thread per
request (http.server) sooner, and in the benchmark's own process it would compete with
the sender for the interpreter lock. ``GET /counts`` on each port returns {path: times
received} (one subscriber, hence one alert, per path); ``GET /received`` how many paths
came at least once.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import urllib.request
import zlib


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of process ``pid`` so far (Linux: /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _serve(ports, latency: float) -> None:
    import asyncio
    from collections import Counter

    from aiohttp import web

    counts: Counter = Counter()

    async def post(request: web.Request) -> web.Response:
        await request.read()
        if latency:
            await asyncio.sleep(latency)  # a real channel's answer takes this long
        counts[request.path] += 1
        return web.Response(status=200)

    async def get_counts(_request: web.Request) -> web.Response:
        return web.json_response(dict(counts))

    async def get_received(_request: web.Request) -> web.Response:
        return web.json_response(len(counts))  # polled often: the number only

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/counts", get_counts)
        app.router.add_get("/received", get_received)
        app.router.add_post("/{tail:.*}", post)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        ports.put(site._server.sockets[0].getsockname()[1])
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
