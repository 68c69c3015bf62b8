"""SIGTERM (cron timeouts, docker stop) and SIGINT (Ctrl-C): stop at a clean point, exit 143 / 130.

The handler only notes the signal. Raising from it could cut a write to stdout half-way through a line (a
slow target keeps the tap blocked in write); instead the engine's main thread finishes the line it is
writing, writes the last safe STATE and raises Stopped.
"""
import signal
import threading


class Stopped(Exception):
    def __init__(self, signum):
        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(f"stopped by {signal.Signals(signum).name}; the last STATE written is safe to resume from")


class StopSignals:
    def __init__(self):
        self.received = None

    def install(self):
        if threading.current_thread() is threading.main_thread():  # Python allows handlers only there
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, self._note)
        return self

    def _note(self, signum, _frame):
        self.received = self.received or signum
