"""A board on a serial port, for tests without hardware: MicroPython's unix port behind a pty.

mpremote talks to ``board.port`` exactly as to a USB board: the raw REPL, raw-paste ``exec``,
``fs cp``, soft resets. The unix port has no soft reset, so the relay plays that part: when the
interpreter exits on Ctrl-D it prints what a board prints and starts a fresh one - back in the
raw REPL when the reset came from there, else running ``boot.py`` and ``main.py`` from the
board's folder (``board.root``, the interpreter's working directory) like a real boot.
"""
import os
import pty
import select
import subprocess
import threading
import time
import tty

BOOT = (
    "import os\n"
    "for _f in ('boot.py', 'main.py'):\n"
    "    try:\n"
    "        _s = open(_f).read()\n"
    "    except OSError:\n"
    "        continue\n"
    "    exec(_s, {'__name__': '__main__'})\n"
)


class SerialBoard:
    def __init__(self, micropython, root, env=None):
        self.micropython = micropython
        self.root = str(root)
        self.env = env
        self.output = bytearray()  # everything the board printed
        self.boots = 0
        self._raw = False
        self._stop = False
        self._proc = None

    def __enter__(self):
        self._m_board, self._s_board = pty.openpty()
        self._m_client, s_client = pty.openpty()
        tty.setraw(self._s_board)
        tty.setraw(s_client)
        self._s_client = s_client
        self.port = os.ttyname(s_client)
        self._start(raw=False)
        self._thread = threading.Thread(target=self._relay, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop = True
        self._thread.join(5)
        if self._proc and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        for fd in (self._m_board, self._s_board, self._m_client, self._s_client):
            os.close(fd)

    def _start(self, raw):
        argv = [self.micropython] + ([] if raw else ["-i", "-c", BOOT])
        self._proc = subprocess.Popen(
            argv, stdin=self._s_board, stdout=self._s_board, stderr=self._s_board, cwd=self.root, env=self.env
        )
        self.boots += 1

    def _to_client(self, data):
        self.output += data
        os.write(self._m_client, data)

    def _relay(self):
        swallow = False
        prompt = False  # waiting for the fresh interpreter's prompt to send it Ctrl-A
        seen = b""
        while not self._stop:
            if self._proc.poll() is not None:
                # Ctrl-D ended the interpreter: a soft reset.
                self._to_client(b"soft reboot\r\n" if self._raw else b"MPY: soft reboot\r\n")
                self._drain(self._m_board)
                self._start(self._raw)
                swallow = prompt = self._raw  # its banner is not for the client
                seen = b""
            ready, _, _ = select.select([self._m_board, self._m_client], [], [], 0.05)
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    continue
                if fd == self._m_client:
                    for byte in data:
                        if byte == 1:
                            self._raw = True
                        elif byte == 2:
                            self._raw = False
                    os.write(self._m_board, data)
                else:
                    if prompt:
                        seen += data
                        if b">>> " in seen:
                            # It has set up its terminal (which drops earlier input): raw REPL now.
                            os.write(self._m_board, b"\x01")
                            prompt = False
                            data, seen = seen[seen.index(b">>> ") + 4 :], b""
                        else:
                            continue
                    if swallow:
                        at = data.find(b"raw REPL;")
                        if at < 0:
                            continue
                        data, swallow = data[at:], False
                    self._to_client(data)

    def _drain(self, fd):
        while select.select([fd], [], [], 0.05)[0]:
            try:
                os.read(fd, 4096)
            except OSError:
                return

    def wait_for(self, text, timeout=10.0):
        """Wait until the board has printed ``text`` (bytes); return whether it did."""
        end = time.time() + timeout
        while time.time() < end:
            if text in self.output:
                return True
            time.sleep(0.05)
        return False
