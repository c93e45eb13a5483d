"""Device I/O and pure protocol decoders/encoders; simulated devices in `drivers.sim`."""
