"""Offensive tendencies per team and situation: the model notebooks 04 to 06 build and use.

A situation is the down, the distance to go (short 1-3, medium 4-7, long 8+ yards) and the zone
of the field. For every team on offense the model keeps, per situation and per coarser level
(down and distance, down, all plays), how often it passed, ran or kicked, and whom it targeted.
Notebook ``04-tendencies.ipynb`` shows this same code; the tests check that both give the same
model.
"""

from __future__ import annotations

from typing import Any

from suricate.demo.football.gamecenter import as_int, yardline_100, zone

DISTANCES = {"short": [1, 3], "medium": [4, 7], "long": [8, None]}
ZONES = {"own deep": [80, 99], "own territory": [50, 79], "opponent territory": [21, 49],
         "red zone": [1, 20]}  # fmt: skip
CALLS = {"pass": "pass", "sack": "pass", "run": "run", "punt": "kick", "field_goal": "kick"}
LEVELS = (("down", "distance", "zone"), ("down", "distance"), ("down",), ())
ORDINALS = {1: "st", 2: "nd", 3: "rd", 4: "th"}


def distance(ydstogo: Any) -> str | None:
    """Bucket the yards to go: short (1-3), medium (4-7) or long (8+)."""
    if ydstogo is None or ydstogo != ydstogo or ydstogo < 1:  # None, NaN or no down
        return None
    return "short" if ydstogo <= 3 else "medium" if ydstogo <= 7 else "long"


def situation_key(down: Any = "*", distance: Any = "*", zone: Any = "*") -> str:
    """Name a situation, ``"3|long|own territory"``; ``*`` stands for any."""
    return f"{down}|{distance}|{zone}"


def select_games(plays: Any, season: Any = None, season_type: Any = "REG") -> tuple[Any, str]:
    """Keep one season (the latest by default) and one season type when it has games."""
    if season is None:
        season = int(plays["season"].max())
    chosen = plays[plays["season"] == season]
    label = f"{season}"
    if season_type:
        if (chosen["season_type"] == season_type).any():
            chosen = chosen[chosen["season_type"] == season_type]
            label = f"{season} {season_type}"
        else:
            label = f"{season} (no {season_type} games: all of them)"
    return chosen, label


def snaps_of(plays: Any) -> Any:
    """The offense's called plays: passes (sacks too), runs and kicks; not kneels or spikes."""
    snaps = plays[
        plays["play_type"].isin(list(CALLS))
        & plays["down"].between(1, 4)
        & plays["posteam"].notna()
    ]
    snaps = snaps[~snaps["desc"].str.contains(r"\bkneels\b|\bspiked\b", na=False)]
    # A play with two forward passes has a row per pass: count the play once.
    snaps = snaps.drop_duplicates(["eid", "play_id"])
    return snaps.assign(
        call=snaps["play_type"].map(CALLS),
        distance=snaps["ydstogo"].map(distance),
        zone=snaps["yardline_100"].map(zone),
    )


def tendency(snaps: Any, top: int) -> dict[str, Any]:
    """How often these snaps were passes, runs or kicks, and the most targeted receivers."""
    calls = snaps["call"].value_counts()
    passes, runs, kicks = (int(calls.get(call, 0)) for call in ("pass", "run", "kick"))
    targets = snaps.loc[snaps["play_type"] == "pass", "target"].dropna()
    counts = targets.value_counts().sort_index().sort_values(ascending=False, kind="stable")
    return {
        "plays": len(snaps),
        "pass": passes,
        "run": runs,
        "kick": kicks,
        "pass_pct": round(passes / len(snaps), 3),
        "kick_pct": round(kicks / len(snaps), 3),
        "targets": len(targets),
        "top_targets": [
            {"receiver": name, "targets": int(n), "share": round(int(n) / len(targets), 3)}
            for name, n in counts.head(top).items()
        ],
    }


def build_model(plays: Any, label: str = "", top: int = 3) -> dict[str, Any]:
    """Build the tendencies of every team on offense from a play table."""
    snaps = snaps_of(plays)
    teams = {}
    for team, own in snaps.groupby("posteam"):
        situations = {}
        for level in LEVELS:
            groups = own.groupby(list(level)) if level else [((), own)]
            for values, group in groups:
                situations[situation_key(**dict(zip(level, values, strict=True)))] = tendency(
                    group, top
                )
        teams[team] = {"plays": len(own), "situations": situations}
    return {
        "version": 1,
        "selection": label,
        "games": snaps["eid"].nunique(),
        "plays": len(snaps),
        "distances": DISTANCES,
        "zones": ZONES,
        "teams": teams,
    }


def spot(yardline: int) -> str:
    """Say where the ball is: ``own 20``, ``midfield``, ``opp 35``."""
    if yardline == 50:
        return "midfield"
    return f"own {100 - yardline}" if yardline > 50 else f"opp {yardline}"


def advise(
    model: dict[str, Any], play: dict[str, Any], min_plays: int = 5
) -> dict[str, Any] | None:
    """Advise the defense before a snap: how the offense will likely play, whom to watch."""
    down = as_int(play.get("down"))
    team = model["teams"].get(play.get("posteam"))
    if not 1 <= down <= 4 or team is None:
        return None
    ydstogo = as_int(play.get("ydstogo"))
    yardline = play.get("yardline_100")
    if yardline is None or yardline != yardline:  # None or NaN: read it off "DEN 23"
        yardline = yardline_100(play.get("yrdln"), play.get("posteam"))
    yardline = None if yardline is None else int(yardline)
    keys = [
        situation_key(down, distance(ydstogo), zone(yardline)),
        situation_key(down, distance(ydstogo)),
        situation_key(down),
        situation_key(),
    ]
    known = [team["situations"][k] for k in keys if k in team["situations"]]
    rates = next(s for s in known if s["plays"] >= min_plays or s is known[-1])
    watch = next((s for s in known if s["targets"] >= min_plays and s["top_targets"]), None)
    togo = "goal" if yardline is not None and ydstogo >= yardline else ydstogo
    where = f" at {spot(yardline)}" if yardline is not None else ""
    text = f"{down}{ORDINALS[down]} and {togo}{where}: pass {rates['pass_pct']:.0%}"
    if rates["kick_pct"] >= 0.05:  # a punt or a field goal is likely: say so
        text += f", kick {rates['kick_pct']:.0%}"
    favourite = watch["top_targets"][0] if watch else None
    if favourite:
        text += f" - watch {favourite['receiver']} ({favourite['share']:.0%} of targets)"
    return {
        "text": text,
        "team": play["posteam"],
        "defense": play.get("defteam"),
        "down": down,
        "ydstogo": ydstogo,
        "yardline_100": yardline,
        "pass_pct": rates["pass_pct"],
        "kick_pct": rates["kick_pct"],
        "plays": rates["plays"],
        "watch": favourite and favourite["receiver"],
        "watch_share": favourite and favourite["share"],
    }
