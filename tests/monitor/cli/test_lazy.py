"""`vigil X` imports only the module of subcommand X (start-up of `vigil replay`), while
`vigil --help` and `from monitor.cli import app` still have every subcommand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from monitor.cli import COMMANDS, app


def test_every_subcommand_is_mapped_to_the_module_that_registers_it() -> None:
    registered: dict[str, str] = {}
    for command in app.registered_commands:
        assert command.callback is not None
        name = command.name or command.callback.__name__.replace("_", "-")
        registered[name] = command.callback.__module__
    for group in app.registered_groups:
        assert group.name is not None and group.typer_instance is not None
        callbacks = [c.callback for c in group.typer_instance.registered_commands]
        registered[group.name] = next(c.__module__ for c in callbacks if c is not None)
    assert {name: f"monitor.cli.{module}" for name, module in COMMANDS.items()} == registered


def _vigil_in_process(*args: str) -> subprocess.CompletedProcess[str]:
    """`vigil ARGS`, then the subcommand modules it imported, as the last output line."""
    script = (
        "import sys\n"
        f"sys.argv = ['vigil', *{list(args)!r}]\n"
        "from monitor.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "else:\n"
        "    code = 0\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('monitor.cli.'))\n"
        "print('LOADED', *loaded)\n"
        "sys.exit(code)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )


def test_replay_imports_only_its_own_module(tmp_path: Path) -> None:
    recording = tmp_path / "r.jsonl"
    recording.write_text(
        '{"t": 0, "room": "A", "type": "event", "event": "session_start", "by": "dr_k"}\n'
    )
    result = _vigil_in_process("replay", str(recording))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == '{"t": 0.0, "room": "A", "type": "phase", "phase": "pre_dose"}'
    assert lines[-1] == "LOADED monitor.cli.replay"


def test_help_lists_every_subcommand() -> None:
    result = _vigil_in_process("--help")
    assert result.returncode == 0, result.stderr
    for name in COMMANDS:
        assert f"│ {name} " in result.stdout
    assert result.stdout.splitlines()[-1] == "LOADED " + " ".join(
        sorted(f"monitor.cli.{m}" for m in set(COMMANDS.values()))
    )
