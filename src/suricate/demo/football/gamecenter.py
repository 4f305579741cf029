"""Flatten NFL.com GameCenter play-by-play into play rows, and check them against the box score.

A GameCenter file is ``{"<eid>": game, "nextupdate": ...}``; a game has ``home``/``away`` (with
the box score in ``stats``) and ``drives``, each with its ``plays``. Each play lists, per player,
the official stat ids credited on it. Every figure of a row comes from those ids, never from the
play's text (which only tells the type of a play without ids: a timeout, a nullified play), so a
play nullified by a penalty carries no passing figures, as in the official statistics.

Notebook ``01-ingest.ipynb`` shows this same code cell by cell; the tests check that both give
the same rows.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter, defaultdict
from typing import Any

PASS_ATTEMPT = {14, 15, 16, 19}  # incomplete, complete, complete for a TD, intercepted
COMPLETION = {15, 16}
PASS_TD = 16
INTERCEPTION = 19
SACK = 20
RECEPTION = {21, 22}
RECEPTION_TD = 22
RECEIVING_LATERAL = {23, 24}  # yards after the ball was lateralled on a pass play
TARGET = 115
RUSH = {10, 11}
RUSHING_LATERAL = {12, 13}
RUSH_TD = {11, 13}
TOUCHDOWN = {11, 13, 16, 22, 24}
TWO_POINT = {75, 76, 77, 78, 104, 105}
PUNT = {2, 29}
KICKOFF = {44}
FIELD_GOAL = {69, 70, 71}
EXTRA_POINT = {72, 73, 74}
TIMEOUT = {68}

COLUMNS = [
    "id", "eid", "season", "week", "season_type", "game_date", "home", "away", "drive",
    "play_id", "qtr", "time", "posteam", "defteam", "down", "ydstogo", "yrdln", "yardline_100",
    "zone", "play_type", "passer", "passer_id", "target", "target_id", "receiver", "receiver_id",
    "complete", "interception", "yards", "receiver_yards", "receiver_td", "touchdown", "rusher",
    "rusher_id", "laterals", "note", "desc",
]  # fmt: skip


def game_of(raw: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Return the eid and the game of a GameCenter file's JSON."""
    for key, value in raw.items():
        if key.isdigit() and isinstance(value, dict):
            return key, value
    raise ValueError("not a GameCenter file: no '<eid>' key at the top level")


def schedule_entries(schedule: Any) -> dict[str, dict[str, Any]]:
    """Index a schedule by eid; take ``{eid: entry}``, nflgame's ``{"games": [[eid, entry]]}``,
    or a list of entries with an ``eid``."""
    if isinstance(schedule, dict) and isinstance(schedule.get("games"), list):
        schedule = schedule["games"]
    if isinstance(schedule, list):
        pairs = (
            item if isinstance(item, list | tuple) else (item.get("eid"), item) for item in schedule
        )
        return {str(eid): entry for eid, entry in pairs if eid}
    return {str(eid): entry for eid, entry in (schedule or {}).items() if isinstance(entry, dict)}


def game_calendar(eid: str, schedule_entry: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the season, season type, week and date of a game: from its schedule entry if any.

    Without one they are read off the date in the eid: the regular season starts on the
    Thursday after Labor Day (the first Monday of September) and lasts 17 weeks (18 from 2021),
    preseason weeks count back from it, playoff rounds follow it.
    """
    date = dt.date(int(eid[:4]), int(eid[4:6]), int(eid[6:8]))
    season = date.year if date.month >= 3 else date.year - 1
    labor_day = dt.date(season, 9, 1) + dt.timedelta(days=(7 - dt.date(season, 9, 1).weekday()) % 7)
    kickoff = labor_day + dt.timedelta(days=3)
    weeks = 17 if season < 2021 else 18
    days = (date - kickoff).days
    if days < 0:
        season_type, week = "PRE", max(0, 4 - (-days - 1) // 7)
    elif days < 7 * weeks:
        season_type, week = "REG", days // 7 + 1
    else:
        season_type, week = "POST", min(4, (days - 7 * weeks) // 7 + 1)
    entry = schedule_entry or {}
    return {
        "season": int(entry.get("year") or season),
        "week": int(entry["week"]) if entry.get("week") is not None else week,
        "season_type": entry.get("season_type") or season_type,
        "game_date": date.isoformat(),
    }


def yardline_100(yrdln: str | None, posteam: str | None) -> int | None:
    """Return the yards from the offense to the opponent's end zone, from ``"DEN 23"``."""
    parts = yrdln.split() if isinstance(yrdln, str) else []
    if not parts or not parts[-1].isdigit():
        return None
    yards = int(parts[-1])
    if yards == 50:
        return 50
    if len(parts) < 2 or not isinstance(posteam, str):
        return None
    return 100 - yards if parts[0] == posteam else yards


def zone(yardline: float | None) -> str | None:
    """Name the part of the field: own deep (own 1-20), own territory, opponent's, red zone."""
    if yardline is None or yardline != yardline:  # None or NaN
        return None
    if yardline <= 20:
        return "red zone"
    if yardline < 50:
        return "opponent territory"
    if yardline < 80:
        return "own territory"
    return "own deep"


def plays_of_game(
    raw: dict[str, Any], schedule_entry: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Flatten one GameCenter file into rows (one per play; one per pass on a two-pass play)."""
    eid, game = game_of(raw)
    home = (game.get("home") or {}).get("abbr")
    away = (game.get("away") or {}).get("abbr")
    about = {"eid": eid, **game_calendar(eid, schedule_entry), "home": home, "away": away}
    rows: list[dict[str, Any]] = []
    for drive, play_id, play in _plays_in_order(game):
        posteam = play.get("posteam") or None
        defteam = {home: away, away: home}.get(posteam) if posteam else None
        yardline = yardline_100(play.get("yrdln"), posteam)
        situation = {
            **about,
            "drive": drive,
            "play_id": play_id,
            "qtr": as_int(play.get("qtr")),
            "time": play.get("time") or None,
            "posteam": posteam,
            "defteam": defteam,
            "down": as_int(play.get("down")),
            "ydstogo": as_int(play.get("ydstogo")),
            "yrdln": play.get("yrdln") or None,
            "yardline_100": yardline,
            "zone": zone(yardline),
        }
        for n, credits in enumerate(_split_passes(_credits_of(play))):
            row = {
                "id": f"{eid}-{play_id}" + (f"-{n + 1}" if n else ""),
                **situation,
                **_figures(credits, play),
                "note": play.get("note") or None,
                "desc": play.get("desc") or "",
            }
            rows.append({column: row[column] for column in COLUMNS})
    return rows


def _plays_in_order(game: dict[str, Any]) -> list[tuple[int, int, dict[str, Any]]]:
    """Every play once, in game order: by quarter and clock, then play id."""
    plays: dict[int, tuple[int, dict[str, Any]]] = {}
    drives = game.get("drives") or {}
    for key in sorted((k for k in drives if k.isdigit()), key=int):
        for play_id, play in ((drives[key] or {}).get("plays") or {}).items():
            if play_id.isdigit() and isinstance(play, dict):
                plays.setdefault(int(play_id), (int(key), play))
    ordered, clock = [], (0, 0)
    for play_id in sorted(plays):
        drive, play = plays[play_id]
        # Plays without a clock (timeouts, ends of quarters) keep the last known one.
        clock = (as_int(play.get("qtr")) or clock[0], _seconds_left(play.get("time"), clock[1]))
        ordered.append((clock[0], -clock[1], play_id, drive, play))
    return [(drive, play_id, play) for _, _, play_id, drive, play in sorted(ordered)]


def _seconds_left(time: str | None, default: int) -> int:
    minutes, _, seconds = (time or "").partition(":")
    if not (minutes.isdigit() and seconds.isdigit()):
        return default
    return int(minutes) * 60 + int(seconds)


def _credits_of(play: dict[str, Any]) -> list[dict[str, Any]]:
    """The play's stat credits, in the order they happened."""
    credits = [
        {
            "player_id": player_id,
            "player": entry.get("playerName") or None,
            "stat": as_int(entry.get("statId")),
            "yards": as_int(entry.get("yards")),
            "sequence": as_int(entry.get("sequence")),
        }
        for player_id, entries in (play.get("players") or {}).items()
        for entry in entries or []
    ]
    return sorted(credits, key=lambda c: c["sequence"])


def _split_passes(credits: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Split a play's credits per forward pass (a play rarely has two, the second illegal)."""
    starts = [i for i, c in enumerate(credits) if c["stat"] in PASS_ATTEMPT][1:]
    bounds = [0, *starts, len(credits)]
    return [credits[a:b] for a, b in itertools.pairwise(bounds)]


def _figures(credits: list[dict[str, Any]], play: dict[str, Any]) -> dict[str, Any]:
    """The play type and who did what for how many yards, from the stat ids."""
    stats = {c["stat"] for c in credits}
    passer = _first(credits, PASS_ATTEMPT) or _first(credits, {SACK})
    catch = _first(credits, RECEPTION)
    target = _first(credits, {TARGET}) or catch
    receiver = catch or target
    rusher = _first(credits, RUSH)
    kind = _play_type(stats, play)
    if kind == "pass":
        yards = sum(c["yards"] for c in credits if c["stat"] in COMPLETION)
        lateral_stats = RECEIVING_LATERAL
    elif kind == "sack":
        yards = sum(c["yards"] for c in credits if c["stat"] == SACK)
        lateral_stats = set()
    elif kind == "run":
        yards = sum(c["yards"] for c in credits if c["stat"] in RUSH | RUSHING_LATERAL)
        lateral_stats = RUSHING_LATERAL
    else:
        yards, lateral_stats = 0, set()
    laterals = [
        {
            "player_id": c["player_id"],
            "player": c["player"],
            "yards": c["yards"],
            "td": c["stat"] in TOUCHDOWN,
        }
        for c in credits
        if c["stat"] in lateral_stats
    ]
    return {
        "play_type": kind,
        "passer": passer and passer["player"],
        "passer_id": passer and passer["player_id"],
        "target": target and target["player"],
        "target_id": target and target["player_id"],
        "receiver": (receiver and receiver["player"]) if kind == "pass" else None,
        "receiver_id": (receiver and receiver["player_id"]) if kind == "pass" else None,
        "complete": bool(stats & COMPLETION),
        "interception": INTERCEPTION in stats,
        "yards": yards,
        "receiver_yards": sum(c["yards"] for c in credits if c is catch),
        "receiver_td": bool(catch and catch["stat"] == RECEPTION_TD),
        "touchdown": bool(stats & {"pass": {PASS_TD}, "run": RUSH_TD}.get(kind, set())),
        "rusher": rusher and rusher["player"],
        "rusher_id": rusher and rusher["player_id"],
        "laterals": laterals or None,
    }


def _play_type(stats: set[int], play: dict[str, Any]) -> str:
    note = (play.get("note") or "").upper()
    desc = play.get("desc") or ""
    if stats & PASS_ATTEMPT:
        return "pass"
    if SACK in stats:
        return "sack"
    if stats & RUSH:
        return "run"
    if stats & TWO_POINT or "TWO-POINT CONVERSION" in desc.upper() or note.startswith("2P"):
        return "two_point"
    by_stat = [
        (PUNT, "punt"),
        (KICKOFF, "kickoff"),
        (FIELD_GOAL, "field_goal"),
        (EXTRA_POINT, "extra_point"),
    ]
    for ids, kind in by_stat:
        if stats & ids:
            return kind
    if "No Play" in desc:
        return "no_play"
    by_note = {"PUNT": "punt", "PUNTB": "punt", "KICKOFF": "kickoff", "FG": "field_goal",
               "FGM": "field_goal", "FGB": "field_goal", "XP": "extra_point", "XPM": "extra_point",
               "XPB": "extra_point", "TIMEOUT": "timeout", "PENALTY": "no_play"}  # fmt: skip
    if note in by_note:
        return by_note[note]
    if stats & TIMEOUT or desc.startswith("Timeout"):
        return "timeout"
    return "other"


def _first(credits: list[dict[str, Any]], stats: set[int]) -> dict[str, Any] | None:
    return next((c for c in credits if c["stat"] in stats), None)


def as_int(value: Any) -> int:
    """Read a whole number from a JSON value; 0 for none (None, NaN, "")."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


# Box score check

PASSING = ("att", "cmp", "yds", "tds", "ints")
RECEIVING = ("rec", "yds", "tds")


def totals_from_rows(rows: list[dict[str, Any]]) -> dict[tuple[str, str], Counter[str]]:
    """Sum the rows per ("passing" | "receiving", player id), as the box score counts."""
    totals: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for row in rows:
        if row["play_type"] != "pass":
            continue
        passing = totals["passing", row["passer_id"]]
        passing.update(att=1, cmp=int(row["complete"]), tds=int(row["touchdown"]))
        passing["ints"] += int(row["interception"])
        passing["yds"] += row["yards"]
        if row["complete"] and row["receiver_id"]:
            receiving = totals["receiving", row["receiver_id"]]
            receiving.update(rec=1, yds=row["receiver_yards"], tds=int(row["receiver_td"]))
        for lateral in row["laterals"] or []:
            receiving = totals["receiving", lateral["player_id"]]
            receiving.update(yds=lateral["yards"], tds=int(lateral["td"]))
    return totals


def totals_from_stat_ids(raw: dict[str, Any]) -> dict[tuple[str, str], Counter[str]]:
    """Sum the raw stat ids of every play, with no flattening at all."""
    _, game = game_of(raw)
    totals: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for drive in (game.get("drives") or {}).values():
        if not isinstance(drive, dict):
            continue
        for play in (drive.get("plays") or {}).values():
            for c in _credits_of(play):
                stat, yards = c["stat"], c["yards"]
                if stat in PASS_ATTEMPT:
                    passing = totals["passing", c["player_id"]]
                    passing.update(att=1, cmp=int(stat in COMPLETION), tds=int(stat == PASS_TD))
                    passing.update(ints=int(stat == INTERCEPTION), yds=yards * (stat in COMPLETION))
                if stat in RECEPTION | RECEIVING_LATERAL:
                    receiving = totals["receiving", c["player_id"]]
                    receiving.update(
                        rec=int(stat in RECEPTION), yds=yards, tds=int(stat in TOUCHDOWN)
                    )
    return totals


def box_score_check(raw: dict[str, Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Compare the rows' passing and receiving totals with the game's box score.

    Return one record per figure that differs: ``{"eid", "team", "category", "player_id",
    "player", "stat", "box", "plays", "stat_ids", "cause"}``. ``stat_ids`` sums the raw stat ids
    of the feed's plays, with no flattening at all: when the rows give the same, the flattening
    is right and the feed's own plays disagree with its box score (``cause`` "feed": a play
    missing from the feed, or credited to an unidentified player); otherwise ``cause`` is
    "flattening". A player the box score leaves out is compared with zeros only if he has an
    attempt or a reception (it lists no receiver whose only yards came after a lateral).
    """
    eid, game = game_of(raw)
    from_rows = totals_from_rows(rows)
    from_ids = totals_from_stat_ids(raw)
    box: dict[tuple[str, str], tuple[str | None, dict[str, Any]]] = {}
    for side in ("home", "away"):
        team = (game.get(side) or {}).get("abbr")
        stats = (game.get(side) or {}).get("stats") or {}
        for category in ("passing", "receiving"):
            for player_id, line in (stats.get(category) or {}).items():
                box[category, player_id] = (team, line)
    keys = set(box) | {key for key, t in (from_rows | from_ids).items() if t["att"] or t["rec"]}
    mismatches = []
    for category, player_id in sorted(keys):
        team, line = box.get((category, player_id), (None, {}))
        for stat in PASSING if category == "passing" else RECEIVING:
            expected = as_int(line.get(stat))
            derived = from_rows[category, player_id][stat]
            summed = from_ids[category, player_id][stat]
            if derived != expected:
                mismatches.append({
                    "eid": eid, "team": team, "category": category, "player_id": player_id,
                    "player": line.get("name"), "stat": stat, "box": expected, "plays": derived,
                    "stat_ids": summed, "cause": "feed" if derived == summed else "flattening",
                })  # fmt: skip
    return mismatches
