"""Offensive tendencies per team and situation: the model notebooks 04 to 06 build and use.

A situation is the down, the distance to go (short 1-3, medium 4-7, long 8+ yards) and the zone
of the field. For every team on offense the model keeps, per situation and per coarser level
(down and distance, down, all plays), how often it passed, ran or kicked, and whom it targeted.
Notebook ``04-tendencies.ipynb`` shows this same code (its ``build_model`` counts group by group,
this one with a groupby per level, faster); the tests check that both give the same model.
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
    """Build the tendencies of every team on offense from a play table.

    The same model as notebook 4's cells (one ``tendency`` per group), counted with one
    groupby per level instead: fast enough to retrain while a season replays.
    """
    snaps = snaps_of(plays)
    teams: dict[str, Any] = {
        str(team): {"plays": int(n), "situations": {}}
        for team, n in snaps.groupby("posteam").size().items()
    }
    aimed = snaps[(snaps["play_type"] == "pass") & snaps["target"].notna()]
    for level in LEVELS:
        keys = ["posteam", *level]
        calls = snaps.groupby(keys)["call"].value_counts().unstack(fill_value=0)
        ranked = aimed.groupby([*keys, "target"]).size().rename("n").reset_index()
        ranked = ranked.sort_values(
            [*keys, "n", "target"], ascending=[True] * len(keys) + [False, True], kind="stable"
        )
        targets = ranked.groupby(keys)["n"].sum()
        best = ranked.groupby(keys).head(top).groupby(keys)
        favourites = {
            key if isinstance(key, tuple) else (key,): list(zip(g["target"], g["n"], strict=True))
            for key, g in best
        }
        for key, row in calls.iterrows():
            key = key if isinstance(key, tuple) else (key,)
            passes, runs, kicks = (int(row.get(call, 0)) for call in ("pass", "run", "kick"))
            count = passes + runs + kicks
            aimed_at = int(targets.get(key if len(key) > 1 else key[0], 0))
            situation = situation_key(**dict(zip(level, key[1:], strict=True)))
            teams[str(key[0])]["situations"][situation] = {
                "plays": count,
                "pass": passes,
                "run": runs,
                "kick": kicks,
                "pass_pct": round(passes / count, 3),
                "kick_pct": round(kicks / count, 3),
                "targets": aimed_at,
                "top_targets": [
                    {"receiver": name, "targets": int(n), "share": round(int(n) / aimed_at, 3)}
                    for name, n in favourites.get(key, [])
                ],
            }
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


def pass_probabilities(model: Any, snaps: Any, min_plays: int = 5) -> list[float | None]:
    """The pass probability the advice gives before each snap (None: no advice for it)."""
    found = []
    for play in snaps.to_dict("records"):
        advice = advise(model, play, min_plays)
        found.append(None if advice is None else float(advice["pass_pct"]))
    return found


def brier(probabilities: Any, passed: Any) -> float:
    """The mean squared gap between the pass probability and the call (1 pass, 0 not)."""
    pairs = [(p, float(y)) for p, y in zip(probabilities, passed, strict=True) if p is not None]
    return sum((p - y) ** 2 for p, y in pairs) / len(pairs) if pairs else float("nan")


def log_loss(probabilities: Any, passed: Any, clip: float = 0.01) -> float:
    """The mean negative log-likelihood of the calls, probabilities clipped to [clip, 1-clip]."""
    import math

    pairs = [(p, float(y)) for p, y in zip(probabilities, passed, strict=True) if p is not None]
    losses = [
        -math.log(min(max(p, clip), 1 - clip) if y else 1 - min(max(p, clip), 1 - clip))
        for p, y in pairs
    ]
    return sum(losses) / len(losses) if losses else float("nan")


def scores(model: Any, snaps: Any, min_plays: int = 5) -> dict[str, Any]:
    """How well the model's advice predicted these snaps: Brier score and log loss."""
    probabilities = pass_probabilities(model, snaps, min_plays)
    passed = (snaps["call"] == "pass").tolist()
    return {
        "brier": round(brier(probabilities, passed), 5),
        "log_loss": round(log_loss(probabilities, passed), 5),
        "snaps": sum(p is not None for p in probabilities),
    }
