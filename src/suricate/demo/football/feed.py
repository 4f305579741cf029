"""Publish a game's plays onto a RabbitMQ queue in game order, as a live feed would.

Each message is one row of the play table (see ``gamecenter.plays_of_game``) as JSON::

    python -m suricate.demo.football.feed --game 2013090500 --speed 2
    python -m suricate.demo.football.feed --file 2014090400.json.gz --queue nfl-plays
    python -m suricate.demo.football.feed --game 2013090500 --write plays.jsonl

``--write`` writes the rows as JSON lines instead (``-`` for stdout), e.g. to upload them as
the object of a replay stream.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from suricate.demo.football.gamecenter import game_of, plays_of_game, schedule_entries

DATA = Path(__file__).parent / "data"


def read_game(path: Path) -> dict[str, Any]:
    """Read a GameCenter file, gzipped or not."""
    data = path.read_bytes()
    return dict(json.loads(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data))


def schedule_entry(eid: str, schedules: Iterable[Path]) -> dict[str, Any] | None:
    """Find a game in schedule files (``{eid: entry}`` or nflgame's ``schedule.json``)."""
    for path in schedules:
        entry = schedule_entries(json.loads(path.read_text())).get(eid)
        if entry is not None:
            return entry
    return None


def rows_of(args: argparse.Namespace) -> list[dict[str, Any]]:
    if args.file is None and args.game is None:
        raise SystemExit("feed: give --game EID (a game of the package data) or --file PATH")
    path = Path(args.file) if args.file else DATA / f"{args.game}.json.gz"
    if not path.exists():
        raise SystemExit(f"feed: no GameCenter file {path}")
    raw = read_game(path)
    eid, _ = game_of(raw)
    schedules = [Path(args.schedule)] if args.schedule else sorted(DATA.glob("schedule-*.json"))
    return plays_of_game(raw, schedule_entry(eid, schedules))


def publish(rows: list[dict[str, Any]], url: str, queue: str, speed: float) -> None:
    """Publish the rows onto a durable queue, ``speed`` a second (0: as fast as possible)."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        try:
            channel.queue_declare(queue, durable=True)
        except pika.exceptions.ChannelClosedByBroker as exc:
            # It exists with other arguments: publish to it as it is.
            if exc.reply_code != 406:
                raise
            channel = connection.channel()
            channel.queue_declare(queue, passive=True)
        properties = pika.BasicProperties(content_type="application/json", delivery_mode=2)
        for n, row in enumerate(rows, 1):
            body = json.dumps(row).encode()
            channel.basic_publish(exchange="", routing_key=queue, body=body, properties=properties)
            print(f"{n:4}/{len(rows)} Q{row['qtr']} {row['time'] or '':>5} {row['desc'][:90]}")
            if speed > 0 and n < len(rows):
                connection.sleep(1 / speed)
    finally:
        connection.close()


def main(argv: list[str] | None = None) -> int:
    """Run the feed from the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m suricate.demo.football.feed", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--url", default="amqp://guest:guest@127.0.0.1:5672/", help="AMQP URL")
    parser.add_argument("--queue", default="nfl-plays", help="queue to publish to (durable)")
    parser.add_argument("--game", metavar="EID", help="a game of the package data, 2013090500")
    parser.add_argument("--file", metavar="PATH", help="a GameCenter file (.json or .json.gz)")
    parser.add_argument("--schedule", metavar="PATH", help="a schedule for the game's week")
    parser.add_argument("--speed", type=float, default=2.0, help="plays a second; 0: no wait")
    parser.add_argument("--write", metavar="PATH", help="write JSON lines here ('-': stdout)")
    args = parser.parse_args(argv)
    rows = rows_of(args)
    if args.write:
        lines = "".join(json.dumps(row) + "\n" for row in rows)
        if args.write == "-":
            sys.stdout.write(lines)
        else:
            Path(args.write).write_text(lines)
            print(f"wrote {len(rows)} plays to {args.write}", file=sys.stderr)
        return 0
    try:
        publish(rows, args.url, args.queue, args.speed)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
