"""What a refused command looks like, for the command-line tests of every folder."""

from __future__ import annotations

from typing import Any


def one_error_line(capsys: Any, rc: int, code: int = 2) -> str:
    """The one ``neuralab: error:`` line on stderr of a command that returned ``rc``
    (which must be ``code``)."""
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert rc == code, err
    assert len(lines) == 1 and lines[0].startswith("neuralab: error: "), err
    return lines[0]
