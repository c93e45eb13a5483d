"""Pure streaming logic: no I/O, no tasks, no clock. Time comes from readings and tick(now)."""
