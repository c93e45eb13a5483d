"""Pure streaming logic: no I/O, no tasks, no clock. Time comes from readings and tick(now).

Its exceptions derive from one root of its own (monitor/core/errors.py; the core imports
nothing outside itself):

    CoreError              message
    └── RecordingError     a recording line that cannot be read (line_no; also a ValueError)
"""

from monitor.core.errors import CoreError, RecordingError

__all__ = ["CoreError", "RecordingError"]
