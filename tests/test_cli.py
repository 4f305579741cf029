"""The administrative CLI: users, tenants, tokens, config, db."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from suricate.cli import main
from suricate.server.platform import Platform
from suricate.settings import Settings
from tests.support import PASSWORD


@pytest.fixture
def run(settings: Settings, platform: Platform):
    runner = CliRunner()
    env = {
        "SURICATE_DATA_DIR": str(settings.data_dir),
        "SURICATE_DATABASE_URL": settings.resolved_database_url,
        "SURICATE_PASSWORD": PASSWORD,
    }

    def invoke(*args: str, **extra_env: str) -> Result:
        return runner.invoke(main, list(args), env=env | extra_env, catch_exceptions=False)

    return invoke


def test_user_create_makes_the_owner_of_a_new_tenant(run, platform: Platform) -> None:
    result = run("user", "create", "alice", "--tenant", "acme")
    assert result.exit_code == 0, result.output
    assert "owner of acme" in result.output
    user = platform.tenants.get_user("alice")
    assert [(t.name, t.role.value) for t in user.tenants] == [("acme", "owner")]
    assert platform.tenants.authenticate("alice", PASSWORD) is not None
    assert platform.tenants.authenticate("alice", "wrong password") is None


def test_passwords_are_stored_as_argon2_hashes(run, platform: Platform) -> None:
    run("user", "create", "alice", "--tenant", "acme")
    from sqlalchemy import select

    from suricate.store.tables import User

    with platform.db.session() as s:
        stored = s.scalar(select(User.password_hash))
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored


def test_second_user_joins_an_existing_tenant_as_member(run, platform: Platform) -> None:
    run("user", "create", "alice", "--tenant", "acme")
    result = run("user", "create", "bob", "--tenant", "acme")
    assert "member of acme" in result.output


def test_duplicate_user_and_bad_names_are_clear_errors(run) -> None:
    run("user", "create", "alice", "--tenant", "acme")
    again = run("user", "create", "alice", "--tenant", "acme")
    assert again.exit_code == 1
    assert "user 'alice' already exists" in again.output
    bad = run("user", "create", "Alice Smith", "--tenant", "acme")
    assert bad.exit_code == 1
    assert "invalid user name" in bad.output
    short = run("user", "create", "carol", "--tenant", "acme", SURICATE_PASSWORD="short")
    assert short.exit_code == 1
    assert "at least 8 characters" in short.output


def test_token_create_prints_only_the_token(run, platform: Platform) -> None:
    run("user", "create", "alice", "--tenant", "acme")
    runner = CliRunner()
    env = {
        "SURICATE_DATABASE_URL": platform.settings.resolved_database_url,
        "SURICATE_DATA_DIR": str(platform.settings.data_dir),
    }
    result = runner.invoke(main, ["token", "create", "alice"], env=env)
    assert result.exit_code == 0
    assert result.stdout.count("\n") == 1
    token = result.stdout.strip()
    assert token.startswith("sur_")
    assert platform.tokens.authenticate(token).user_name == "alice"


def test_token_list_and_revoke(run, platform: Platform) -> None:
    run("user", "create", "alice", "--tenant", "acme")
    token, info = platform.tokens.create("alice", "laptop")
    listed = run("token", "list").output
    assert "laptop" in listed
    assert token not in listed
    assert run("token", "revoke", str(info.id)).exit_code == 0
    assert "revoked" in run("token", "list").output
    zero = run("token", "create", "alice", "--expires-days", "0")
    assert zero.exit_code == 2
    run("token", "create", "alice", "--expires-days", "30")
    assert "active until" in run("token", "list").output
    missing = run("token", "revoke", "999")
    assert missing.exit_code == 1
    assert "not found" in missing.output


def test_tenant_commands(run, platform: Platform) -> None:
    run("user", "create", "alice", "--tenant", "acme")
    assert run("tenant", "create", "globex").exit_code == 0
    assert run("tenant", "add-member", "globex", "alice", "--role", "owner").exit_code == 0
    assert run("tenant", "list").stdout.split() == ["acme", "globex"]
    assert "globex (owner)" in run("user", "list").output


def test_config_lists_every_setting_with_help(run) -> None:
    output = run("config").output
    for name in Settings.model_fields:
        assert f"SURICATE_{name.upper()}=" in output
    assert "SURICATE_PASSWORD=********" in output
    assert "correct horse" not in output
    secret = run("config", SURICATE_TOKEN="sur_secret").output
    assert "sur_secret" not in secret
    assert "SURICATE_TOKEN=********" in secret


def test_bad_setting_is_a_clear_error(run) -> None:
    result = run("config", SURICATE_MAX_UPLOAD_BYTES="lots")
    assert result.exit_code == 1
    assert "SURICATE_MAX_UPLOAD_BYTES: Input should be a valid integer" in result.output
    assert "pydantic" not in result.output


def test_db_upgrade_is_idempotent(run, platform: Platform) -> None:
    result = run("db", "upgrade")
    assert result.exit_code == 0
    head = platform.db.head_revision()
    assert f"revision {head}" in result.output
    assert run("db", "current").stdout.strip() == head


def test_client_commands_need_a_token(run, tmp_path: Path) -> None:
    (tmp_path / "f.csv").write_text("a\n1\n")
    result = run("upload", str(tmp_path / "f.csv"))
    assert result.exit_code == 1
    assert "SURICATE_TOKEN" in result.output


def test_admin_commands_find_the_data_dir_the_last_server_noted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from suricate.discovery import note_server

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    server_dir = tmp_path / "server-data"
    server_dir.mkdir()
    note_server(server_dir, "http://127.0.0.1:8899")
    env = {"SURICATE_PASSWORD": PASSWORD, "SURICATE_DATA_DIR": "", "SURICATE_DATABASE_URL": ""}
    runner = CliRunner()
    created = runner.invoke(main, ["user", "create", "bob", "--tenant", "acme"], env=env)
    assert created.exit_code == 0, created.output
    assert str(server_dir) in created.output and "http://127.0.0.1:8899" in created.output
    token = runner.invoke(main, ["token", "create", "bob"], env=env)
    assert token.exit_code == 0, token.output
    assert not (elsewhere / "suricate-data").exists()


def test_a_new_data_dir_is_made_only_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    env = {"SURICATE_PASSWORD": PASSWORD, "SURICATE_DATA_DIR": "", "SURICATE_DATABASE_URL": ""}
    result = CliRunner().invoke(main, ["user", "create", "carol", "--tenant", "acme"], env=env)
    assert result.exit_code == 0, result.output
    assert "warning" in result.output and "NEW" in result.output
    assert (tmp_path / "suricate-data").is_dir()


def test_client_commands_say_which_server_they_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from suricate.discovery import note_server

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    note_server(tmp_path, "http://127.0.0.1:9")  # nothing listens on port 9 here
    (tmp_path / "f.csv").write_text("a\n1\n")
    env = {"SURICATE_TOKEN": "sur_x", "SURICATE_URL": ""}
    result = CliRunner().invoke(main, ["upload", str(tmp_path / "f.csv"), "-q"], env=env)
    assert result.exit_code == 1
    assert "(server http://127.0.0.1:9 (the server last started here))" in result.output
    assert "cannot reach the server at http://127.0.0.1:9" in result.output


def test_serve_listens_on_suricate_port_unless_a_flag_says_otherwise() -> None:
    from suricate.cli import _address

    settings = Settings(port=8899, host="127.0.0.2")
    assert _address(settings, None, None) == ("127.0.0.2", 8899)
    assert _address(settings, "127.0.0.1", 8900) == ("127.0.0.1", 8900)
    with pytest.raises(Exception, match="not a TCP port"):
        _address(settings, None, 70000)
