"""``riverbed topology check|show`` against the bank example and broken declarations."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from riverbed.cli.topology import app

runner = CliRunner()


def test_check_accepts_the_bank_and_reports_its_loose_ends_on_stderr() -> None:
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0, result.stderr
    assert "ok: 9 services in 3 bounded contexts; events flow one way" in result.stdout
    assert "riverbed: warning: stock produces shop.stock.added.v1, which no service consumes" in result.stderr


def test_check_strict_fails_on_warnings() -> None:
    assert runner.invoke(app, ["check", "--strict"]).exit_code == 1


def test_check_refuses_a_cycle_with_exit_2_naming_it() -> None:
    result = runner.invoke(app, ["check", "--app", "examples.bank.topology:cyclic_variant"])
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "riverbed: error: events flow in a cycle between bounded contexts: bank -["
    )
    assert "-> shop -[shop.stock.reserved.v1]-> bank" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("no-colon", "is not a 'module:attribute' reference"),
        ("examples.bank.nowhere:services", "cannot import 'examples.bank.nowhere'"),
        ("examples.bank.topology:missing", "has no attribute 'missing'"),
        ("examples.bank.topology:BANK", "expected service declarations"),
    ],
)
def test_a_declaration_that_cannot_be_loaded_is_refused_with_exit_2(ref: str, message: str) -> None:
    result = runner.invoke(app, ["check", "--app", ref])
    assert result.exit_code == 2
    assert message in result.stderr


def test_show_prints_text_by_default_and_mermaid_on_request() -> None:
    text = runner.invoke(app, ["show"])
    assert text.exit_code == 0
    assert "payments -> checkout: bank.payment.declined.v1, bank.payment.taken.v1" in text.stdout
    assert "checkout => payments: RefundPayment, TakePayment" in text.stdout
    mermaid = runner.invoke(app, ["show", "--format", "mermaid"])
    assert mermaid.exit_code == 0
    assert mermaid.stdout.startswith("flowchart LR\n")
    assert 'svc_accounts -->|"bank.account.opened.v1"| svc_monitoring' in mermaid.stdout


def test_show_refuses_a_cycle_too() -> None:
    result = runner.invoke(
        app, ["show", "--app", "examples.bank.topology:cyclic_variant", "--format", "mermaid"]
    )
    assert result.exit_code == 2
    assert "cycle" in result.stderr


def test_the_riverbed_command_has_the_topology_group() -> None:
    from riverbed.cli.main import app as riverbed

    result = runner.invoke(riverbed, ["topology", "check", "--app", "examples.bank.topology:cyclic_variant"])
    assert result.exit_code == 2
    assert "riverbed: error: events flow in a cycle between bounded contexts" in result.stderr
