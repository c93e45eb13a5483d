"""Vigil: an in-session safety monitor for ketamine-assisted psychotherapy.

Vigil is a secondary alarm system. It does not replace the bedside devices' own alarms.
"""

__version__ = "0.1.0"
