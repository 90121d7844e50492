"""What a readiness check says: its name, whether it passed, and a line for the operator."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
