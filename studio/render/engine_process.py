"""One engine process: launch ``python -m engine``, the handshake, the pipes' threads, kill.

:class:`EngineProcess` is one generation of the engine (the client starts a new one after a crash).
It owns three threads: the *writer* encodes queued requests onto the engine's stdin (so callers never
wait for JSON or the pipe), the *reader* decodes events from its stdout (the handshake first, pongs
recorded, the rest handed to ``on_message``) and the *stderr* thread keeps the last lines the engine
logged for error messages.

Thread contract: ``send``/``send_jobs``/``ping`` from any thread; ``handshake`` blocks the caller until
the engine's ``hello`` (or a clear :class:`EngineStartError`); ``kill`` and ``finish`` from the thread
that owns the process (the client's start/shutdown or its supervisor).
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from engine.protocol import Job, ProtocolError, check_hello, decode, encode
from studio.render.engine_events import LOG, EngineStartError, EngineVersionError

_SUBMIT = "submit"


class EngineProcess:
    """A running ``python -m engine`` with its writer, reader and stderr threads.

    ``on_message(proc, message)`` and ``on_eof(proc)`` are called on the reader thread. ``send`` and
    ``send_jobs`` may be called from any thread: they only queue for the writer thread.
    """

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None,
        on_message: Callable[[EngineProcess, dict[str, Any]], None],
        on_eof: Callable[[EngineProcess], None],
    ) -> None:
        self._on_message = on_message
        self._on_eof = on_eof
        popen_kwargs: dict[str, Any] = {}
        if os.name == "posix":
            popen_kwargs["start_new_session"] = True  # own process group: kill takes the pool with it
        else:
            popen_kwargs["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        try:
            self.popen = subprocess.Popen(
                list(argv),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=dict(env) if env is not None else None,
                bufsize=0,
                **popen_kwargs,
            )
        except OSError as exc:
            raise EngineStartError(f"cannot start the render engine ({argv[0]}): {exc}") from None
        self.pid = self.popen.pid
        self.hello: dict[str, Any] | None = None
        self.hello_error: Exception | None = None
        self.hello_event = threading.Event()
        self.eof = threading.Event()
        self.last_pong = time.monotonic()
        self.ping_n = 0
        self.stderr_tail: deque[str] = deque(maxlen=200)
        self._outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._write_loop, name=f"engine-{self.pid}-writer", daemon=True),
            threading.Thread(target=self._read_loop, name=f"engine-{self.pid}-reader", daemon=True),
            threading.Thread(target=self._stderr_loop, name=f"engine-{self.pid}-stderr", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    # writer: encoding happens here, so callers never wait for JSON or the pipe
    def send(self, message_type: str, **payload: Any) -> None:
        self._outbox.put((message_type, payload))

    def send_jobs(self, jobs: Sequence[Job]) -> None:
        self._outbox.put((_SUBMIT, list(jobs)))

    def _write_loop(self) -> None:
        stdin = self.popen.stdin
        assert stdin is not None
        while True:
            item = self._outbox.get()
            if item is None:
                break
            message_type, payload = item
            if message_type == _SUBMIT and isinstance(payload, list):
                data = encode("submit", jobs=[job.to_dict() for job in payload])
            else:
                data = encode(message_type, **payload)
            try:
                stdin.write(data)
                stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                break  # the reader/supervisor notice the death
        with contextlib.suppress(OSError, ValueError):
            stdin.close()

    def _read_loop(self) -> None:
        stdout = self.popen.stdout
        assert stdout is not None
        try:
            for raw in iter(stdout.readline, b""):
                line = raw.strip()
                if not line:
                    continue
                try:
                    message = decode(line)
                except ProtocolError as exc:
                    if self.hello is None and not self.hello_event.is_set():
                        self.hello_error = EngineStartError(
                            f"the render engine sent garbage instead of a handshake: {exc}"
                        )
                        self.hello_event.set()
                    LOG.warning("engine %s: %s", self.pid, exc)
                    continue
                if not self.hello_event.is_set():
                    try:
                        check_hello(message)
                        self.hello = message
                    except ProtocolError as exc:
                        if message.get("type") == "hello":
                            self.hello_error = EngineVersionError(str(exc))
                        else:
                            self.hello_error = EngineStartError(str(exc))
                    self.hello_event.set()
                    continue
                if message["type"] == "pong":
                    self.last_pong = time.monotonic()
                    continue
                self._on_message(self, message)
        except (OSError, ValueError):
            pass
        finally:
            self.eof.set()
            self.hello_event.set()
            self._on_eof(self)

    def _stderr_loop(self) -> None:
        stderr = self.popen.stderr
        assert stderr is not None
        with contextlib.suppress(OSError, ValueError):
            for raw in iter(stderr.readline, b""):
                text = raw.decode("utf-8", "replace").rstrip()
                if text:
                    self.stderr_tail.append(text)
                    LOG.info("engine %s: %s", self.pid, text)

    def handshake(self, timeout: float) -> dict[str, Any]:
        if not self.hello_event.wait(timeout):
            raise EngineStartError(
                f"the render engine did not answer within {timeout:.0f} s; it may be blocked by a firewall "
                "or antivirus tool, or the machine is overloaded — try again"
            )
        if self.hello is not None:
            self.last_pong = time.monotonic()
            return self.hello
        if self.hello_error is not None:
            raise self.hello_error
        self.popen.wait(5)
        raise EngineStartError(f"the render engine stopped before its handshake ({self.describe_exit()})")

    def ping(self) -> None:
        self.ping_n += 1
        self.send("ping", n=self.ping_n)

    def alive(self) -> bool:
        return not self.eof.is_set() and self.popen.poll() is None

    def describe_exit(self) -> str:
        code = self.popen.poll()
        if code is None:
            what = "still running"
        elif code < 0:
            try:
                what = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                what = f"killed by signal {-code}"
        else:
            what = f"exit code {code}"
        last = self.last_error_line()
        return f"{what}; last message: {last}" if last else what

    def last_error_line(self) -> str:
        for line in reversed(self.stderr_tail):
            if line.strip() and not line.startswith(" "):
                return line.strip()
        return ""

    def kill(self) -> None:
        """Kill the engine and everything it started (its process group on POSIX)."""
        if self.popen.poll() is None:
            if os.name == "posix":
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                self.popen.kill()
        elif os.name == "posix":  # the engine is gone; its pool workers may linger a moment
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)

    def finish(self, timeout: float = 5.0) -> None:
        """Stop the writer and wait for the reader to drain (call after the process has exited)."""
        self._outbox.put(None)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout)
        for stream in (self.popen.stdout, self.popen.stderr):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                stream.close()  # type: ignore[union-attr]
