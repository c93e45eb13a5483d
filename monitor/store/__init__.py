"""Storage: InfluxDB time series (and, later, the local journal in front of it)."""
