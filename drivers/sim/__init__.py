"""Simulated devices: scenarios of vital signs encoded into each device's real bytes."""
