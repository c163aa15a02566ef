"""Reference solutions for lesson 5: the room's one order, and unique names, over processes."""

from __future__ import annotations

import unicodedata

__all__ = ["log_order", "unique_joins"]


def log_order(writes: dict[str, list[tuple[str, dict[str, str]]]]) -> list[str]:
    """The texts of the messages in ``writes``, in the order every process delivers them."""
    # Every process reads the one stream, and a stream is in the order of its IDs:
    # "MILLISECONDS-SEQUENCE", two numbers (compared as text, "-10" comes before "-9").
    entries = [entry for written in writes.values() for entry in written]

    def stream_id(entry: tuple[str, dict[str, str]]) -> tuple[int, int]:
        ms, seq = entry[0].split("-")
        return int(ms), int(seq)

    return [fields["x"] for _, fields in sorted(entries, key=stream_id) if fields["e"] == "say"]


def unique_joins(members: dict[str, str], joins: list[tuple[str, str]]) -> list[bool]:
    """Run ``joins`` (process, name) as Redis runs the join script; which ones won?"""
    won = []
    for process, name in joins:
        # The room's rule for "the same name": NFKC, then casefold ("ＡＮＡ" is "ana").
        key = unicodedata.normalize("NFKC", name).casefold()
        if key in members:  # HEXISTS ... then HSET, in one script: nobody runs in between
            won.append(False)
        else:
            members[key] = process
            won.append(True)
    return won
