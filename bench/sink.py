"""A webhook sink on 127.0.0.1 for the delivery benchmarks: answers every POST 200 after
``latency`` seconds and counts what it took, per alert.

It runs in a process of its own, on one asyncio loop (aiohttp), so that it is never the
bottleneck measured: a thread per request (http.server) tops out near the rates a
deliverer must reach, and in the benchmark's own process it would compete with the
sender for the interpreter lock. ``GET /counts`` returns {alert: times received}, the
alert named by the request path (one subscriber per path) and the payload's title;
``GET /received`` how many alerts came at least once.
"""
from __future__ import annotations

import json
import multiprocessing
import urllib.request


def _serve(ports, latency: float) -> None:
    import asyncio
    from collections import Counter

    from aiohttp import web

    counts: Counter = Counter()

    async def post(request: web.Request) -> web.Response:
        payload = json.loads(await request.read() or b"{}")
        if latency:
            await asyncio.sleep(latency)  # a real channel's answer takes this long
        counts[f"{request.path} {payload.get('title', '')}"] += 1
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
    def __init__(self, latency: float = 0.0) -> None:
        ctx = multiprocessing.get_context("spawn")
        ports = ctx.Queue()
        self._process = ctx.Process(target=_serve, args=(ports, latency), daemon=True)
        self._process.start()
        self.port = ports.get(timeout=60)

    def url(self, path: str = "/hook") -> str:
        return f"json://127.0.0.1:{self.port}{path}"

    def _get(self, what: str):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/{what}", timeout=30) as answer:
            return json.loads(answer.read())

    def counts(self) -> dict[str, int]:
        return self._get("counts")

    def received(self) -> int:
        """Alerts received at least once."""
        return self._get("received")

    def stop(self) -> None:
        self._process.terminate()
        self._process.join(10)
