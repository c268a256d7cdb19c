"""Errors the user can fix, each rendered as one line naming the file and the field."""

from __future__ import annotations


class CaseError(Exception):
    """Bad input: ``file: field: message``. The CLI prints it and exits with code 2."""

    exit_code = 2

    def __init__(self, file: str, field: str, message: str) -> None:
        self.file = file
        self.field = field
        self.message = message
        super().__init__(f"{file}: {field}: {message}" if field else f"{file}: {message}")

    def __reduce__(self) -> tuple[type, tuple[str, str, str]]:  # raised in a worker process
        return (type(self), (self.file, self.field, self.message))


class SolveError(Exception):
    """The solver did not return a usable solution; ``exit_code`` tells the CLI how to exit."""

    def __init__(self, message: str, exit_code: int) -> None:
        self.exit_code = exit_code
        super().__init__(message)

    def __reduce__(self) -> tuple[type, tuple[str, int]]:  # raised in a worker process
        return (type(self), (str(self), self.exit_code))
