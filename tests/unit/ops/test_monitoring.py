"""The alert rules and the dashboard, checked by the real tools and against the gateway's own /metrics.

``promtool`` is built by ``scripts/install-binaries promtool`` (module github.com/prometheus/prometheus
v0.316.0) into ``$MLEDGER_BIN_DIR/prometheus-<version>/promtool``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from app.main import create_app
from app.settings import REPO_ROOT, Settings
from tests.unit.api.builders import BANK_A, Api

MONITORING = REPO_ROOT / "network" / "monitoring"
PROMETHEUS_VERSION = os.environ.get("PROMETHEUS_VERSION", "0.316.0")


def promtool() -> Path:
    root = Path(os.environ.get("MLEDGER_BIN_DIR", REPO_ROOT / ".cache" / "bin"))
    path = root / f"prometheus-{PROMETHEUS_VERSION}" / "promtool"
    assert path.is_file(), f"{path} is missing: run scripts/install-binaries promtool"
    return path


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(promtool()), *args], cwd=MONITORING, capture_output=True, text=True, timeout=120, check=False
    )


def test_promtool_checks_the_rules() -> None:
    result = run_promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_unit_tests_of_the_alerts_pass() -> None:
    result = run_promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_refuses_a_broken_rule(tmp_path: Path) -> None:
    """The check is real: a rule with a PromQL syntax error fails it."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "groups:\n- name: x\n  rules:\n  - alert: X\n    expr: rate(mledger_http_requests_total[5m]\n"
    )
    result = subprocess.run([str(promtool()), "check", "rules", str(broken)], capture_output=True, text=True)
    assert result.returncode != 0


def test_every_slo_has_an_alert() -> None:
    rules = [r for g in yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"] for r in g["rules"]]
    slos = {r["labels"].get("slo") for r in rules if "alert" in r}
    assert {"response_time", "data_completeness", "model_accuracy", "commit_latency", "peer_height"} <= slos
    assert {"availability"} <= slos
    thresholds = {r["alert"]: r["expr"] for r in rules if "alert" in r}
    assert "> 0.2" in thresholds["MledgerApiLatencyHigh"]
    assert "< 0.95" in thresholds["MledgerDataCompletenessLow"]
    assert "< 0.8" in thresholds["MledgerModelAccuracyLow"]


# --- the dashboard --------------------------------------------------------------------------------

METRIC = re.compile(r"\b(mledger_[a-z0-9_]+|mledger:[a-z0-9_:]+)\b")


def _dashboard() -> dict:  # type: ignore[type-arg]
    return json.loads((MONITORING / "dashboard.json").read_text())


def test_dashboard_structure() -> None:
    dash = _dashboard()
    for key in ("uid", "title", "schemaVersion", "panels", "templating", "time"):
        assert key in dash, key
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in dash["panels"]:
        assert panel["type"] in {"timeseries", "stat", "gauge", "table", "bargauge"}, panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24 and grid["h"] > 0, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip() and target["refId"], panel["title"]
            assert METRIC.search(target["expr"]), f"{panel['title']}: no mledger metric in {target['expr']}"
    names = {v["name"] for v in dash["templating"]["list"]}
    assert {"datasource", "job"} <= names


def _exported(api: Api) -> set[str]:
    """Every metric name one scrape of a running gateway offers (histogram series included)."""
    response = api.client.get("/metrics", headers=api.headers("admin@BankAMSP"))
    assert response.status_code == 200, response.text
    names: set[str] = set()
    for family in text_string_to_metric_families(response.text):
        names.add(family.name)
        names.update({f"{family.name}_bucket", f"{family.name}_sum", f"{family.name}_count"})
        if family.type == "counter":
            names.add(f"{family.name}_total")
        names.update(s.name for s in family.samples)
    return names


def _recorded() -> set[str]:
    groups = yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"]
    return {r["record"] for g in groups for r in g["rules"] if "record" in r}


def test_dashboard_and_alerts_name_only_metrics_the_gateway_exports(api: Api) -> None:
    api.get(BANK_A, "/vehicles/1HGCM82633A004352")  # some traffic
    exported = _exported(api) | _recorded()
    used = {m for p in _dashboard()["panels"] for t in p["targets"] for m in METRIC.findall(t["expr"])}
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"]
    used |= {m for g in rules for r in g["rules"] for m in METRIC.findall(r["expr"])}
    missing = sorted(used - exported)
    assert not missing, f"named but not exported by the gateway: {missing}"


def test_a_misspelt_metric_would_be_caught(api: Api) -> None:
    assert "mledger_http_request_second_bucket" not in _exported(api)


def test_create_app_registers_the_sli_gauges(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "gw", token_secret="t" * 32))
    text = app.state.gw.metrics.render().body.decode()
    for name in (
        "mledger_data_completeness_ratio",
        "mledger_model_accuracy_ratio",
        "mledger_peer_height_lag_blocks",
    ):
        assert f"# TYPE {name} gauge" in text
