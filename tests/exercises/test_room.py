"""The exercise's tiny chat room speaks the kit's protocol and survives bad requests."""

from __future__ import annotations

import json

from labkit.exercises import live
from labkit.exercises.room import PracticeRoom
from labkit.exercises.solutions import lesson3 as solutions


def test_room_answers_bad_requests_with_an_error_and_stays_open() -> None:
    """Binary, non-JSON and a message before joining get their error code; then a join works."""
    probe = live.Probe()
    room = PracticeRoom(probe, solutions.recipients, solutions.on_join, solutions.on_leave)
    with live.serving(room.app) as server, live.Client(server.url, "ana", probe) as ana:
        for bad, code in (
            (b"\x00", "bad_json"),
            ("not json", "bad_json"),
            (json.dumps({"type": "message", "text": "hi"}), "not_joined"),
        ):
            ana.send(bad)
            assert json.loads(ana.expect("an error"))["code"] == code
        ana.send(json.dumps({"type": "join", "name": "ana"}))
        welcome = json.loads(ana.expect("a welcome"))
        assert welcome == {"type": "welcome", "name": "ana", "users": ["ana"], "history": []}
    assert probe.wait_finished(1)
    assert room.users == []
