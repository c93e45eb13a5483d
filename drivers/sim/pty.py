"""A pseudo-terminal pair standing in for a serial cable.

The simulator writes the device's bytes into the master side; the driver opens the slave
path with pyserial exactly as it would open /dev/ttyUSB0.
"""

from __future__ import annotations

import contextlib
import os
import tty


class PtyPair:
    def __init__(self) -> None:
        self.master_fd, self._slave_fd = os.openpty()
        # Raw mode: no CR/LF translation or echo, bytes pass as a serial line passes them.
        tty.setraw(self._slave_fd)
        os.set_blocking(self.master_fd, False)
        self.port = os.ttyname(self._slave_fd)

    def write(self, data: bytes) -> int:
        """Write what fits; a real device does not wait for a reader either."""
        try:
            return os.write(self.master_fd, data)
        except BlockingIOError:
            return 0

    def close(self) -> None:
        for fd in (self.master_fd, self._slave_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
