"""Send processes: a deliverer's sends spread over processes of their own.

One Python process runs Python on one core at a time. A deliverer's send threads spend
most of their CPU in Apprise, requests and the socket calls around each message, and with
64 of them in one process each blocking call hands the interpreter lock over again:
that process's send threads topped out at 680-980 messages/s on a 2-CPU machine with a
channel answering in 50 ms, whatever the concurrency (``bench/scale.py`` part (b)).
With ``[delivery] send_processes`` above 0, the deliverer keeps its one loop of claims and
settles, and hands each send to one of that many processes, each with its share of the
send threads; the outcome comes back to the deliverer, which writes it as before.

``SendProcesses`` is a ``concurrent.futures.Executor``: ``notifier.send`` runs the same
function in it as in its own thread pool, so the two ways of sending share one path.

What crosses between the processes: a job (the function by name and its arguments,
pickled) and its outcome, over a pipe each way; and every log record of WARNING and above
(or the service's level) that a send process makes, written by the deliverer's own
handlers, which mask secrets. A send process prints nothing of its own.

Failure. A send process that ends (a crash, the OOM killer) fails the sends it held with
``SendProcessEnded``: each is a failed attempt of its message, retried with the usual
backoff (whether the channel got it cannot be known, as with a timeout); the next send
starts a new process in its place. When the deliverer ends, its send processes read the
end of their job pipe, finish the sends they hold and exit: none outlives it for long.
"""
from __future__ import annotations

import itertools
import logging
import os
import subprocess
import sys
import threading
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path

log = logging.getLogger(__name__)
_ROOT = str(Path(__file__).resolve().parent.parent)  # the project, for ``python -m notifier.sendprocs``


class SendProcessEnded(Exception):
    """The send process holding a send ended before the send's outcome came back."""


class SendFailed(Exception):
    """A send raised in a send process: its exception's type and text."""


class _Process:
    """One send process, and the sends it holds (their futures, by job number)."""

    def __init__(self, threads: int) -> None:
        jobs_in, jobs_out = os.pipe()
        results_in, results_out = os.pipe()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (_ROOT, os.environ.get("PYTHONPATH"))))}
        levels = f"{logging.getLogger().getEffectiveLevel()},{logging.getLogger('apprise').getEffectiveLevel()}"
        try:
            self.process = subprocess.Popen([sys.executable, "-m", "notifier.sendprocs", str(threads), levels],
                                            stdin=jobs_in, stdout=results_out, env=env)
        except BaseException:
            os.close(jobs_out)
            os.close(results_in)
            raise
        finally:
            os.close(jobs_in)
            os.close(results_out)
        self.jobs = Connection(jobs_out, readable=False)
        self.results = Connection(results_in, writable=False)
        self.held: dict[int, Future] = {}
        self.answered = 0  # sends whose outcome came back
        self.lock = threading.Lock()  # ``held``, ``answered``, ``ended``
        # Writing a job is not done under ``lock``: the reader must never wait for a write.
        self.writing = threading.Lock()
        self.ended = False
        self.reader = threading.Thread(target=self._read, name=f"drawwatch-send-{self.process.pid}", daemon=True)
        self.reader.start()
        log.info("send process %d started (%d send threads)", self.process.pid, threads)

    def submit(self, number: int, job: tuple, future: Future) -> None:
        with self.lock:
            if self.ended:
                raise SendProcessEnded("the send process had ended")
            self.held[number] = future
        try:
            with self.writing:
                self.jobs.send((number, *job))
        except OSError as exc:  # it ended meanwhile
            with self.lock:
                mine = self.held.pop(number, None) is not None
            if mine:  # else the reader has failed this send with the rest it held
                raise SendProcessEnded(f"the send process had ended ({exc})") from None

    def _read(self) -> None:
        while True:
            try:
                what, *rest = self.results.recv()
            except (EOFError, OSError):
                break
            if what == "log":
                name, level, text = rest
                logging.getLogger(name).log(level, "%s", text)
                continue
            number, ok, value = rest
            with self.lock:
                future = self.held.pop(number, None)
                self.answered += 1
            if future is None:
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(SendFailed(value))
        status = self.process.wait()
        with self.lock:
            self.ended = True
            held, self.held = self.held, {}
        if held:
            log.warning("a send process ended (exit status %s) holding %d sends: each is retried", status, len(held))
        for future in held.values():
            future.set_exception(SendProcessEnded(
                f"the send process ended (exit status {status}) before the channel's answer came back"))
        self.results.close()

    def close(self) -> None:
        """No more jobs: the process finishes the sends it holds and exits."""
        with self.writing:
            self.jobs.close()


class SendProcesses(Executor):
    """``processes`` send processes of ``threads`` send threads each; a send goes to the
    one holding the fewest."""

    def __init__(self, processes: int, threads: int) -> None:
        self.threads = threads
        self._slots: list[_Process | None] = [None] * processes
        self._all: list[_Process] = []  # every process started, ended ones too
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self._shut = False

    @property
    def processes(self) -> int:
        return len(self._slots)

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        future.set_running_or_notify_cancel()  # under way at once: a timeout abandons it, never cancels it
        try:
            self._pick().submit(next(self._numbers), (fn, args, kwargs), future)
        except SendProcessEnded as exc:
            future.set_exception(exc)
        return future

    def _pick(self) -> _Process:
        with self._lock:
            if self._shut:
                raise RuntimeError("the send processes were shut down")
            for i, proc in enumerate(self._slots):
                if proc is None or proc.ended:
                    self._slots[i] = _Process(self.threads)  # a new one in place of one that ended
                    self._all.append(self._slots[i])
            return min(self._slots, key=lambda p: len(p.held))

    def pids(self) -> list[int]:
        """The send processes running now."""
        return [p.process.pid for p in self._slots if p is not None and not p.ended]

    @property
    def answered(self) -> int:
        """Sends whose outcome came back from a send process, since the start."""
        return sum(p.answered for p in self._all)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shut = True
            running = [p for p in self._slots if p is not None]
        for proc in running:
            proc.close()
        if wait:
            for proc in running:
                proc.reader.join()


# -- inside a send process ----------------------------------------------------------------


class _Forward(logging.Handler):
    """Every record goes to the deliverer, whose handlers mask and write it."""

    def __init__(self, send) -> None:
        super().__init__()
        self.send = send

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.send(("log", record.name, record.levelno, self.format(record)))
        except Exception:  # the deliverer is gone: nowhere left to say it
            pass


def main(threads: int, root_level: int, apprise_level: int) -> None:
    from notifier import keepalive

    # fd 1 carries the outcomes: anything printed must not land in the middle of them.
    results = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)
    jobs = Connection(os.dup(0), writable=False)
    lock = threading.Lock()

    def send(value) -> None:
        with lock:
            results.send(value)

    root = logging.getLogger()
    root.handlers[:] = [_Forward(send)]
    root.setLevel(root_level)
    logging.getLogger("apprise").setLevel(apprise_level)

    def reply(number: int, future: Future) -> None:
        try:
            value = ("done", number, True, future.result())
        except BaseException as exc:  # the deliverer says it as the send's error
            value = ("done", number, False, f"{type(exc).__name__}: {exc}")
        try:
            send(value)
        except OSError:  # the deliverer is gone
            pass

    pool = ThreadPoolExecutor(threads, thread_name_prefix="drawwatch-send",
                              initializer=keepalive.start_thread, initargs=(keepalive.connections(threads),))
    while True:
        try:
            number, fn, args, kwargs = jobs.recv()
        except (EOFError, OSError):
            break
        pool.submit(fn, *args, **kwargs).add_done_callback(partial(reply, number))
    pool.shutdown(wait=True)


if __name__ == "__main__":
    import signal

    # A Ctrl-C or a service manager's SIGTERM reaches the whole process group: the
    # deliverer decides what its sends become, and this process ends with it (the end of
    # its job pipe), once the sends it holds are answered.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    main(int(sys.argv[1]), *(int(v) for v in sys.argv[2].split(",")))
