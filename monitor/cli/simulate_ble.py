"""`vigil simulate --ble`: a simulated BLE peripheral as its own process on a bumble transport."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import typer


def _fail(message: str) -> typer.Exit:
    typer.echo(f"vigil: {message}", err=True)
    return typer.Exit(2)


def simulate_ble(
    *,
    protocol: str | None,
    scenario: str,
    profile: str | None,
    transport: str | None,
    name: str | None,
    options: str,
    interval: float | None,
    serial_only: dict[str, bool],
) -> None:
    """Validate the BLE arguments, then run the peripheral until interrupted.

    `serial_only` maps each serial-only option (e.g. "--port") to whether it was given."""
    from drivers.ble.hci_link import DEFAULT_SERVER_SPEC, check_transport_spec
    from drivers.sim.ble_process import check_options, profile_for, run_ble_simulator

    given = [opt for opt, used in serial_only.items() if used]
    if given:
        raise _fail(
            f"{', '.join(given)}: serial simulator option(s); a BLE simulator takes "
            "--profile, --transport and --name"
        )
    try:
        prof = profile_for(protocol, profile)
        spec = check_transport_spec(transport or DEFAULT_SERVER_SPEC, central=False)
        opts: dict[str, Any] = json.loads(options)
        if not isinstance(opts, dict):
            raise ValueError("--options must be a JSON object")
        if interval is not None:
            if not interval > 0:
                raise ValueError("--interval must be > 0")
            opts["interval_s"] = interval
        check_options(prof, scenario, opts)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise _fail(str(exc)) from None
    # Legacy advertising data is 31 bytes: flags (3), the name (2 + n) and the 16-bit
    # service list (2 + 2 per service) must all fit, or the name would be cut off.
    max_name = 31 - 3 - 2 - (2 + 2 * len(prof.split("+")))
    short = prof.replace("+", "-")
    adv_name = name if name is not None else f"Vigil-Sim-{short}"
    if name is None and len(adv_name) > max_name:
        adv_name = f"Vigil-{short}"
    if not 0 < len(adv_name.encode()) <= max_name:
        raise _fail(f"--name: 1 to {max_name} bytes with profile {prof!r}, got {adv_name!r}")

    def say(message: str) -> None:
        typer.echo(message)

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(
                run_ble_simulator(
                    profile=prof,
                    scenario_name=scenario,
                    options=opts,
                    transport=spec,
                    name=adv_name,
                    say=say,
                )
            )
    except OSError as exc:
        raise _fail(f"cannot open transport {spec}: {exc}") from None
    except Exception as exc:  # bumble's transport errors (no adapter, permission denied)
        raise _fail(f"cannot open transport {spec}: {type(exc).__name__}: {exc}") from None
