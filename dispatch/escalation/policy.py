"""The escalation policy: which posts are paged, how, and after how long (data, not code).

The file (settings.escalation_policy_path, default data/escalation_policy.json) holds a chain
per category, with whole-chain overrides per district. It is validated when the service
starts (`dispatch escalation check FILE` prints each chain's timing); a running escalation
uses the copy taken when it started (`snapshot`), never the file.

Format (JSON; unknown keys are refused):

    {
      "version": 1,                       # >= 1, copied onto every alert's snapshot
      "description": "...",               # free text
      "chains": {                         # by alert category (suicide_risk, self_harm,
                                          #   threat_to_others, other); "default" is required
        "suicide_risk": {
          "steps": [                      # level 0, 1, ... (1 to 20 levels)
            {"after_s": 0,                # seconds after the previous level (level 0:
                                          #   after arrival); DISPATCH_DRILL_SPEED divides it
             "targets": [{"post": "sho",  # sho, circle_officer, district_control, sp_office,
                                          #   range_office, dig_office, state_cell
                          "channels": ["console", "sms", "whatsapp", "voice"]}]}
          ],
          "repeat_last_every_s": 240,     # then the last level again (10 s .. 24 h)
          "stall_en_route_s": 600,        # acknowledged, nobody en route: escalate (optional,
          "stall_on_scene_s": 2700        #   default DISPATCH_STALL_*_MINUTES)
        },
        "default": {...}
      },
      "districts": {                      # optional: per district, chains by category or
        "Varanasi": {"threat_to_others": {...}, "default": {...}}   # "default" that
      }                                   #   replace the state-wide chain there
    }

Lookup for an alert: districts[district][category], districts[district]["default"],
chains[category], chains["default"]. A post is paged for the alert's own unit (its station,
circle, district or range; the state cell has none), on every channel listed, to every active
contact holding it (WhatsApp only to contacts that have it). A level that reaches nobody does
not wait: the next level is due at once.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dispatch.alerts.models import Category
from dispatch.escalation.models import Post

# The keys of a set of chains: an alert category, or "default" for the others.
CHAIN_KEYS = frozenset({"default", *(c.value for c in Category)})


class PolicyChannel(StrEnum):
    """How a step reaches a post: the web console, or a message or call through the notifier."""

    console = "console"
    sms = "sms"
    whatsapp = "whatsapp"
    voice = "voice"


class PolicyError(ValueError):
    """The policy file is missing or invalid; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Target(_Strict):
    """One post and the channels it is paged on."""

    post: Post
    channels: list[PolicyChannel] = Field(min_length=1)

    @model_validator(mode="after")
    def _no_repeats(self) -> Target:
        if len(set(self.channels)) != len(self.channels):
            raise ValueError("a channel is listed twice")
        return self


class StepSpec(_Strict):
    """One level: `after_s` seconds after the previous level fired (level 0: after arrival)."""

    after_s: float = Field(ge=0, le=7 * 24 * 3600)
    targets: list[Target] = Field(min_length=1)


class Chain(_Strict):
    """The levels of one escalation, the repeat of the last level, and the stall timers."""

    steps: list[StepSpec] = Field(min_length=1, max_length=20)
    repeat_last_every_s: float = Field(default=300, ge=10, le=24 * 3600)
    # Acknowledged but nobody en route / on scene after this long: escalate ("stalled").
    # Unset: DISPATCH_STALL_EN_ROUTE_MINUTES / DISPATCH_STALL_ON_SCENE_MINUTES.
    stall_en_route_s: float | None = Field(default=None, gt=0)
    stall_on_scene_s: float | None = Field(default=None, gt=0)


class Policy(_Strict):
    """The whole file."""

    version: int = Field(ge=1)
    description: str = ""
    # Chains by category; "default" is used for a category without its own chain.
    chains: dict[str, Chain]
    # Per district: chains by category (or "default") that replace the state-wide chain.
    districts: dict[str, dict[str, Chain]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _chain_keys(self) -> Policy:
        if "default" not in self.chains:
            raise ValueError('chains must contain a "default" chain')
        # A misspelt category ("suicide-risk") would never be looked up: its alerts would
        # silently follow the default chain and its slower timing.
        where = [("chains", self.chains)]
        where += [(f"districts.{d}", chains) for d, chains in self.districts.items()]
        for path, chains in where:
            unknown = sorted(set(chains) - CHAIN_KEYS)
            if unknown:
                raise ValueError(
                    f"{path}: unknown alert categor{'y' if len(unknown) == 1 else 'ies'} "
                    f"{', '.join(repr(u) for u in unknown)} (expected one of "
                    f"{', '.join(sorted(CHAIN_KEYS))})"
                )
        return self

    def chain_for(self, category: str, district: str | None) -> tuple[str, Chain]:
        """The chain for an alert and where it came from ('districts.Etawah.suicide_risk')."""
        local = self.districts.get(district or "", {})
        for key in (category, "default"):
            if key in local:
                return f"districts.{district}.{key}", local[key]
        if category in self.chains:
            return f"chains.{category}", self.chains[category]
        return "chains.default", self.chains["default"]


def parse(data: Any, *, source: str = "policy") -> Policy:
    """Validate policy data; PolicyError lists every problem with its path."""
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_url=False):
            where = ".".join(str(p) for p in error["loc"]) or "(top level)"
            lines.append(f"  {where}: {error['msg']}")
        raise PolicyError(
            f"{source} is not a valid escalation policy:\n" + "\n".join(lines)
        ) from exc


def load(path: Path) -> Policy:
    """Read and validate the policy file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read the escalation policy {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{path} is not UTF-8 text: byte {exc.start} ({exc.reason})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    return parse(data, source=str(path))


def snapshot(
    policy: Policy,
    *,
    category: str,
    district: str | None,
    stall_en_route_s: float,
    stall_on_scene_s: float,
) -> dict[str, Any]:
    """The chain to copy onto an alert when its escalation starts (stall defaults filled in)."""
    source, chain = policy.chain_for(category, district)
    data = chain.model_dump(mode="json")
    data["stall_en_route_s"] = chain.stall_en_route_s or stall_en_route_s
    data["stall_on_scene_s"] = chain.stall_on_scene_s or stall_on_scene_s
    data["policy"] = {"version": policy.version, "source": source}
    return data
