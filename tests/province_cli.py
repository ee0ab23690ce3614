"""``drawwatch`` as a child process for the provinces' crawl tests: a config naming one
source's pages on 127.0.0.1 and subscribers whose mail goes to a local SMTP server, and
what the store then holds."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlmodel import select

from store.db import make_engine, session as open_session
from store.models import CrawlRun, Draw, Notice
from tests.configs import sources_off
from tests.service_harness import ServiceProcess


def toml_value(value) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return str(value).lower() if isinstance(value, bool) else str(value)


class ProvinceCli:
    """Runs ``drawwatch`` with a config for ``source``; ``configure`` rewrites its table."""

    def __init__(self, tmp_path: Path, source: str, subscribers: list[dict] = ()):
        self.source = source
        self.db = tmp_path / "dw.db"
        self.config = tmp_path / "config.toml"
        self.subscribers = list(subscribers)
        self.engine = make_engine(f"sqlite:///{self.db}")
        self.service: ServiceProcess | None = None

    def configure(self, **keys) -> None:
        """The source's table (``keys``), every other source disabled (no test touches the
        internet), a service that polls every second and delivers at once."""
        keys = {"schedule": "every 1s", "jitter": 0, **keys}
        lines = [f'[database]\nurl = "sqlite:///{self.db}"', "[http]\ndelay = 0\nretries = 0\ntimeout = 5",
                 "[service]\ndelivery_interval = 1",
                 f"[sources.{self.source}]"] + [f"{k} = {toml_value(v)}" for k, v in keys.items()]
        lines.append(sources_off(self.source))
        for sub in self.subscribers:
            lines.append("[[subscribers]]")
            lines += [f"{k} = {toml_value(v)}" for k, v in sub.items()]
        self.config.write_text("\n".join(lines) + "\n")

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "scheduler", "--config", str(self.config), *args],
                              capture_output=True, text=True, timeout=120)

    def invoke(self, *args: str):
        """A command that needs no crawl (draws, deliver), in this process: quicker."""
        from click.testing import CliRunner

        from scheduler import main

        return CliRunner().invoke(main, ["--config", str(self.config), *args])

    def serve(self) -> ServiceProcess:
        """``drawwatch serve``: one process crawling every second (each crawl without the
        start-up cost of a new process)."""
        self.service = ServiceProcess(self.config).start()
        return self.service

    def crawl(self) -> subprocess.CompletedProcess:
        return self("crawl", "--source", self.source)

    def held(self) -> tuple[dict[str, str], int, list[tuple[str, str | None]]]:
        """{key: content hash} of the stored draws, the number of notices, the runs' outcomes."""
        with open_session(self.engine) as s:
            return ({d.key: d.content_hash for d in s.exec(select(Draw).where(Draw.source == self.source))},
                    len(s.exec(select(Notice).where(Notice.source == self.source)).all()),
                    [(r.outcome, r.error) for r in s.exec(select(CrawlRun).where(CrawlRun.source == self.source)
                                                         .order_by(CrawlRun.id))])

    def close(self) -> None:
        if self.service is not None:
            self.service.kill()
        self.engine.dispose()
