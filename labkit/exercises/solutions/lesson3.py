"""Reference solutions for lesson 3: the core of a chat room, without any I/O."""

from __future__ import annotations

__all__ = ["on_join", "on_leave", "recipients"]


def recipients(sender: str, members: list[str]) -> list[str]:
    """Everyone a message from ``sender`` goes to: all other members, in order."""
    return [member for member in members if member != sender]  # a new list; members untouched


def on_join(users: list[str], name: str) -> bool:
    """Add ``name`` unless it is taken, ignoring case; tell whether it was added."""
    if any(user.casefold() == name.casefold() for user in users):
        return False  # "Ana" and "ANA" are the same person in a room
    users.append(name)  # keep the spelling the user chose
    return True


def on_leave(users: list[str], name: str) -> None:
    """Remove ``name``; a name that never joined is ignored."""
    if name in users:  # a connection can close before its join was accepted
        users.remove(name)
