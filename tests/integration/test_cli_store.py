"""The real ``riverbed`` executable against SQLite files (and memory://), as a shell user runs it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from riverbed import CloudEvent, ExpectedVersion, open_store
from riverbed.cloudevents import from_dict, to_json

RIVERBED = str(Path(sys.executable).with_name("riverbed"))


def run_cli(
    *args: str, stdin: str | bytes = b"", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    data = stdin.encode() if isinstance(stdin, str) else stdin
    env = {k: v for k, v in os.environ.items() if k != "RIVERBED_STORE_URL"}
    done = subprocess.run([RIVERBED, *args], input=data, capture_output=True, cwd=cwd, env=env, timeout=60)
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
    )


def lines_of(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def ce_line(event_id: str, subject: str | None = None, **extra: Any) -> str:
    event = CloudEvent(
        id=event_id, source="urn:test", type="test.thing.happened.v1", subject=subject, **extra
    )
    return to_json(event)


def assert_one_line_error(done: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("riverbed: error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]


async def _stored(url: str) -> list[tuple[str, int, str]]:
    async with open_store(url) as store:
        return [(rec.stream, rec.version, rec.event.id) async for rec in store.read_all()]


def stored(url: str) -> list[tuple[str, int, str]]:
    return asyncio.run(_stored(url))


async def _seed(url: str, stream: str, ids: list[str]) -> None:
    async with open_store(url) as store:
        events = [CloudEvent(id=i, source="urn:seed", type="test.seeded.v1") for i in ids]
        await store.append(stream, events, expected_version=ExpectedVersion.ANY)


def seed(url: str, stream: str, ids: list[str]) -> None:
    asyncio.run(_seed(url, stream, ids))


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


def test_init_creates_the_store_and_stats_counts_it(url: str, tmp_path: Path) -> None:
    done = run_cli("store", "init", "--url", url)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "store.db").exists()
    [counts] = lines_of(done.stdout)
    assert {k: counts[k] for k in ("url", "events", "streams", "last_position")} == {
        "url": url,
        "events": 0,
        "streams": 0,
        "last_position": 0,
    }
    seed(url, "s", ["a", "b"])
    stats = lines_of(run_cli("store", "stats", "--url", url).stdout)[0]
    assert (stats["events"], stats["streams"], stats["last_position"]) == (2, 1, 2)


def test_append_prints_one_line_per_stored_event_and_read_gives_them_back(url: str) -> None:
    stdin = "\n".join(
        [
            ce_line("e-1", "account-1", data={"owner": "Ada"}),
            ce_line("e-2", data=b"\x00\x01", datacontenttype="application/octet-stream"),  # --stream
            "",  # blank lines are skipped
            ce_line("e-3", "account-1", extensions={"traceparent": "00-1"}),
        ]
    )
    done = run_cli("store", "append", "--url", url, "--stream", "default-stream", stdin=stdin)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert lines_of(done.stdout) == [
        {"id": "e-1", "stream": "account-1", "version": 0, "position": 1},
        {"id": "e-2", "stream": "default-stream", "version": 0, "position": 2},
        {"id": "e-3", "stream": "account-1", "version": 1, "position": 3},
    ]
    records = lines_of(run_cli("store", "read", "--url", url).stdout)
    assert [(r["stream"], r["version"], r["position"], r["checkpoint"]) for r in records] == [
        ("account-1", 0, 1, "1"),
        ("default-stream", 0, 2, "2"),
        ("account-1", 1, 3, "3"),
    ]
    first = from_dict(records[0]["event"])
    assert first.id == "e-1"
    assert first.subject == "account-1"
    assert first.data == {"owner": "Ada"}
    assert from_dict(records[1]["event"]).data == b"\x00\x01"
    assert from_dict(records[1]["event"]).subject == "default-stream"
    assert dict(from_dict(records[2]["event"]).extensions) == {"traceparent": "00-1"}


def test_read_one_stream_after_and_limit(url: str) -> None:
    seed(url, "a", ["a0", "a1", "a2"])
    seed(url, "b", ["b0", "b1"])

    def ids(*args: str) -> list[str]:
        done = run_cli("store", "read", "--url", url, *args)
        assert done.returncode == 0, done.stderr
        return [r["event"]["id"] for r in lines_of(done.stdout)]

    assert ids("--stream", "a") == ["a0", "a1", "a2"]
    assert ids("--stream", "a", "--after", "0") == ["a1", "a2"]
    assert ids("--stream", "a", "--limit", "2") == ["a0", "a1"]
    assert ids("--stream", "missing") == []
    assert ids("--after", "2") == ["a2", "b0", "b1"]
    assert ids("--after", "2", "--limit", "1") == ["a2"]
    assert ids("--limit", "0") == []


def test_expected_version_applies_to_the_first_event_of_each_stream(url: str) -> None:
    stdin = "\n".join([ce_line("x1", "x"), ce_line("y1", "y"), ce_line("x2", "x"), ce_line("y2", "y")])
    done = run_cli("store", "append", "--url", url, "--expected-version", "no_stream", stdin=stdin)
    assert done.returncode == 0, done.stderr
    assert [(r["stream"], r["version"]) for r in lines_of(done.stdout)] == [
        ("x", 0),
        ("y", 0),
        ("x", 1),
        ("y", 1),
    ]
    more = "\n".join([ce_line("x3", "x"), ce_line("x4", "x")])
    done = run_cli("store", "append", "--url", url, "--expected-version", "1", stdin=more)
    assert done.returncode == 0, done.stderr
    assert [r["version"] for r in lines_of(done.stdout)] == [2, 3]
    done = run_cli("store", "append", "--url", url, "--expected-version", "exists", stdin=ce_line("y3", "y"))
    assert done.returncode == 0, done.stderr


def test_re_running_the_same_append_is_idempotent(url: str) -> None:
    stdin = "\n".join([ce_line("i1", "s"), ce_line("i2", "s")])
    first = run_cli("store", "append", "--url", url, "--expected-version", "no_stream", stdin=stdin)
    again = run_cli("store", "append", "--url", url, "--expected-version", "no_stream", stdin=stdin)
    assert first.returncode == again.returncode == 0, again.stderr
    assert lines_of(again.stdout) == lines_of(first.stdout)
    assert stored(url) == [("s", 0, "i1"), ("s", 1, "i2")]


def test_a_version_clash_stops_the_run_and_keeps_what_was_stored(url: str) -> None:
    seed(url, "existing", ["old"])
    stdin = "\n".join([ce_line("n1", "fresh"), ce_line("n2", "existing"), ce_line("n3", "later")])
    done = run_cli("store", "append", "--url", url, "--expected-version", "no_stream", stdin=stdin)
    assert_one_line_error(done, 1, "line 2", "'existing'")
    assert lines_of(done.stdout) == [{"id": "n1", "stream": "fresh", "version": 0, "position": 2}]
    assert stored(url) == [("existing", 0, "old"), ("fresh", 0, "n1")]


def test_exists_on_a_new_stream_is_a_clash_with_nothing_stored(url: str) -> None:
    done = run_cli("store", "append", "--url", url, "--expected-version", "exists", stdin=ce_line("z", "new"))
    assert_one_line_error(done, 1, "line 1", "'new'")
    assert done.stdout == ""
    assert stored(url) == []


def test_an_id_stored_elsewhere_is_refused(url: str) -> None:
    seed(url, "one", ["dup"])
    done = run_cli("store", "append", "--url", url, stdin=ce_line("dup", "two"))
    assert_one_line_error(done, 1, "line 1", "'dup'")


GOOD = ce_line("g1", "s")


@pytest.mark.parametrize(
    ("stdin", "args", "needles"),
    [
        (
            f"{GOOD}\n{GOOD.replace('g1', 'g2')}\n" + '{"specversion": "1.0", "id":',
            (),
            ["line 3", "malformed JSON"],
        ),
        (
            f"{GOOD}\n" + ce_line("g2", "s").replace('"source"', '"BadName":1,"source"'),
            (),
            ["line 2", "BadName"],
        ),
        (
            f"{GOOD}\n" + json.dumps({"specversion": "0.3", "id": "x", "source": "s", "type": "t"}),
            (),
            ["line 2"],
        ),
        (f"{GOOD}\n" + json.dumps({"specversion": "1.0", "id": "x", "source": "s"}), (), ["line 2", "type"]),
        (f"{GOOD}\n[1, 2]", (), ["line 2", "object"]),
        (f"{GOOD}\n" + ce_line("nosubject"), (), ["line 2", "subject", "--stream"]),
        (f"{GOOD}\n{GOOD}", (), ["line 2", "line 1", "'g1'"]),
        (GOOD.encode() + b"\n\xff\xfe\n", (), ["line 2", "UTF-8"]),
        (ce_line("c", "bad\u0001stream"), (), ["line 1", "control character"]),
        (GOOD, ("--expected-version", "sometimes"), ["--expected-version", "'sometimes'"]),
        (ce_line("n"), ("--stream", ""), ["--stream"]),
    ],
)
def test_bad_input_is_refused_before_anything_is_stored(
    url: str, stdin: str | bytes, args: tuple[str, ...], needles: list[str]
) -> None:
    seed(url, "s", ["before"])
    done = run_cli("store", "append", "--url", url, *args, stdin=stdin)
    assert_one_line_error(done, 2, *needles)
    assert done.stdout == ""
    assert stored(url) == [("s", 0, "before")]


@pytest.mark.parametrize("bad_url", ["nope://x", "not a url", "sqlite3:///x.db"])
def test_a_bad_url_is_refused_with_exit_code_2(bad_url: str) -> None:
    for command in (["append"], ["read"], ["stats"], ["init"]):
        done = run_cli("store", *command, "--url", bad_url, stdin=GOOD)
        assert_one_line_error(done, 2, repr(bad_url))


def test_a_bad_url_is_refused_before_stdin_is_read(tmp_path: Path) -> None:
    done = run_cli("store", "append", "--url", "nope://x", stdin="this is not JSON")
    assert_one_line_error(done, 2, "nope")


def test_an_unopenable_sqlite_file_is_one_line_without_traceback(tmp_path: Path) -> None:
    target = tmp_path / "not-a-dir"
    target.write_text("a file where a directory should be")
    done = run_cli("store", "append", "--url", f"sqlite:///{target}/store.db", stdin=GOOD)
    assert done.returncode in (1, 2)
    assert_one_line_error(done, done.returncode)


def test_read_refuses_a_bad_after(url: str) -> None:
    assert_one_line_error(run_cli("store", "read", "--url", url, "--after", "soon"), 2, "'soon'")
    assert_one_line_error(
        run_cli("store", "read", "--url", url, "--stream", "s", "--after", "-1"), 2, "--after"
    )


def test_url_may_come_from_the_environment(url: str) -> None:
    seed(url, "s", ["a"])
    env = {**os.environ, "RIVERBED_STORE_URL": url}
    done = subprocess.run([RIVERBED, "store", "stats"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["events"] == 1


def test_memory_store_appends_within_one_run() -> None:
    done = run_cli("store", "append", "--url", "memory://", stdin="\n".join([GOOD, ce_line("g2", "s")]))
    assert done.returncode == 0, done.stderr
    assert [r["version"] for r in lines_of(done.stdout)] == [0, 1]
    read = run_cli("store", "read", "--url", "memory://")
    assert (read.returncode, read.stdout) == (0, "")


@pytest.fixture
def tail_process(url: str) -> Iterator[subprocess.Popen[bytes]]:
    seed(url, "s", ["t0", "t1"])
    process = subprocess.Popen(
        [RIVERBED, "store", "tail", "--url", url, "--after", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()
        process.stderr.close()


def test_tail_catches_up_then_follows_live_until_interrupted(
    url: str, tail_process: subprocess.Popen[bytes]
) -> None:
    assert tail_process.stdout is not None
    assert tail_process.stderr is not None
    caught_up = json.loads(tail_process.stdout.readline())
    assert (caught_up["event"]["id"], caught_up["position"]) == ("t1", 2)
    appended = run_cli("store", "append", "--url", url, stdin=ce_line("live", "s"))
    assert appended.returncode == 0, appended.stderr
    live = json.loads(tail_process.stdout.readline())
    assert (live["event"]["id"], live["stream"], live["version"], live["position"]) == ("live", "s", 2, 3)
    tail_process.send_signal(signal.SIGINT)
    assert tail_process.wait(timeout=30) == 0
    assert b"Traceback" not in tail_process.stderr.read()


def test_tail_stops_cleanly_on_sigterm(tail_process: subprocess.Popen[bytes]) -> None:
    assert tail_process.stdout is not None
    assert tail_process.stderr is not None
    assert json.loads(tail_process.stdout.readline())["event"]["id"] == "t1"
    tail_process.send_signal(signal.SIGTERM)
    assert tail_process.wait(timeout=30) == 0
    assert tail_process.stderr.read() == b""


def test_tail_limit_ends_by_itself(url: str) -> None:
    seed(url, "s", ["a", "b", "c"])
    done = run_cli("store", "tail", "--url", url, "--limit", "2")
    assert done.returncode == 0, done.stderr
    assert [r["event"]["id"] for r in lines_of(done.stdout)] == ["a", "b"]


def test_help_lists_the_store_commands() -> None:
    done = run_cli("store", "--help")
    assert done.returncode == 0
    for command in ("init", "append", "read", "tail", "stats"):
        assert command in done.stdout


def test_version() -> None:
    import riverbed

    done = run_cli("--version")
    assert (done.returncode, done.stdout.strip()) == (0, f"riverbed {riverbed.__version__}")
