"""Phone notifications, escalation policy, signed acknowledgement tokens."""
