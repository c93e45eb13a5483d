"""A pseudo-terminal pair standing in for a serial cable.

The simulator writes the device's bytes into the master side (and reads the host's commands
from it); the driver opens `port` with pyserial exactly as it would open /dev/ttyUSB0.
`port` is a stable symlink to the current slave, so `unplug()` then `replug()` behaves like
pulling a USB adapter and putting it back: the driver's reads fail, its reopen attempts fail
while unplugged, and the same path works again afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import tty


class PtyPair:
    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="vigil-pty-")
        self.port = os.path.join(self._dir, "tty")
        self.master_fd = -1
        self._slave_fd = -1
        self.replug()

    @property
    def plugged(self) -> bool:
        return self.master_fd >= 0

    def replug(self) -> None:
        """Open a fresh pty and point `port` at it."""
        if self.plugged:
            return
        self.master_fd, self._slave_fd = os.openpty()
        # Raw mode: no CR/LF translation or echo, bytes pass as a serial line passes them.
        tty.setraw(self._slave_fd)
        os.set_blocking(self.master_fd, False)
        tmp = self.port + ".new"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(os.ttyname(self._slave_fd), tmp)
        os.replace(tmp, self.port)

    def unplug(self) -> None:
        """Close both ends and remove the path, as when a USB-serial adapter is pulled."""
        for fd in (self.master_fd, self._slave_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.master_fd = self._slave_fd = -1
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.port)

    def write(self, data: bytes) -> int:
        """Write what fits; a real device does not wait for a reader either."""
        if not self.plugged:
            return 0
        try:
            return os.write(self.master_fd, data)
        except (BlockingIOError, OSError):
            return 0

    def read(self) -> bytes:
        """Whatever the host has sent so far (non-blocking; b"" when nothing)."""
        if not self.plugged:
            return b""
        try:
            return os.read(self.master_fd, 4096)
        except (BlockingIOError, OSError):
            return b""

    def close(self) -> None:
        self.unplug()
        shutil.rmtree(self._dir, ignore_errors=True)
