"""Speed and memory targets, checked here rather than by timed tests (`make bench`)."""
