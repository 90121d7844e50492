"""docs/alerts.yml: the example Prometheus alert rules load as YAML, each rule is complete
(alert, expr, for, labels with a severity, annotations with a summary and a description), its
expression's brackets balance, and every metric it names is one that /metrics exposes."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

RULES = Path(__file__).resolve().parent.parent / "docs" / "alerts.yml"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
EXPECTED = {
    "BeatSilent",
    "PollerLagging",
    "VccErrors",
    "UnknownOutcomesRising",
    "WebhooksStopped",
}


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


@pytest.fixture
def exposed(db: None) -> set[str]:
    """Every sample name /metrics can hold (a labelled counter shows its name before its first
    increment, without samples)."""
    text = Client().get("/metrics").content.decode()
    return {
        family.name + suffix
        for family in text_string_to_metric_families(text)
        for suffix in SUFFIXES.get(family.type, ("",))
    }


def test_the_rules_cover_what_an_operator_must_hear_about() -> None:
    assert EXPECTED <= {rule["alert"] for rule in rules()}


@pytest.mark.parametrize("rule", rules(), ids=lambda rule: rule["alert"])
def test_each_rule_is_complete_and_names_only_our_metrics(
    rule: dict[str, Any], exposed: set[str]
) -> None:
    assert {"alert", "expr", "for", "labels", "annotations"} <= set(rule)
    assert re.fullmatch(r"\d+[smh]", rule["for"])
    assert rule["labels"]["severity"] in {"page", "ticket"}
    assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    expr = rule["expr"]
    for opening, closing in ("()", "[]", "{}"):
        assert expr.count(opening) == expr.count(closing), expr
    named = set(re.findall(r"\bagentdesk_[a-z_]+", expr))
    assert named, expr
    assert named <= exposed, named - exposed
