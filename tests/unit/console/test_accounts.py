"""console.accounts: hashed passwords, accounts refused at load with the reason, the covert
rule per user, and the throttle on wrong passwords."""

from __future__ import annotations

import pytest

from console.accounts import (
    Account, Accounts, AccountsError, LoginRefused, LoginThrottle, check_password, hash_password, may_see,
)
from console.board import Card

DESTINATIONS = {"cic-lie", "cic-national", "fjp-liege"}
HASH = hash_password("correct horse")


def accounts_yaml(**overrides) -> str:
    entry = {"password": HASH, "destinations": "[cic-lie]", "role": "dispatcher", **overrides}
    body = "\n".join(f"    {key}: {value}" for key, value in entry.items() if value is not None)
    return f"users:\n  l.dubois:\n{body}\n"


def card(destination="cic-lie", covert=False, owner=None) -> Card:
    labels = {"covert": "true" if covert else "false", **({"owner": owner} if owner else {})}
    return Card("d1", "h1", destination, {}, labels, "root", 0, None, None)


def test_a_password_hash_checks_the_password_and_nothing_else():
    assert check_password(HASH, "correct horse")
    assert not check_password(HASH, "correct horse ") and not check_password("md5$abc", "x")
    assert hash_password("x") != hash_password("x")     # salted


def test_an_account_file_is_refused_with_the_user_and_the_problem():
    good = Accounts.from_yaml(accounts_yaml(), "users.yaml", DESTINATIONS)
    assert good.by_name["l.dubois"].destinations == {"cic-lie"}
    for overrides, message in (({"destinations": "[cic-xyz]"}, "unknown destination"),
                               ({"password": "hunter2"}, "scrypt hash"),
                               ({"role": "god"}, "role must be"),
                               ({"destinations": "[]"}, "list of destination names")):
        with pytest.raises(AccountsError, match=f"user 'l.dubois': .*{message}"):
            Accounts.from_yaml(accounts_yaml(**overrides), "users.yaml", DESTINATIONS)


def test_a_covert_card_shows_only_to_users_of_its_owner():
    dispatcher = Account("l.dubois", HASH, frozenset({"cic-lie"}))
    investigator = Account("m.lambert", HASH, frozenset({"cic-lie", "fjp-liege"}))
    assert may_see(dispatcher, card()) and not may_see(dispatcher, card("cic-national"))
    assert not may_see(dispatcher, card(covert=True, owner="fjp-liege"))
    assert may_see(investigator, card(covert=True, owner="fjp-liege"))
    assert not may_see(investigator, card(covert=True))                  # covert with no owner: nobody


def test_wrong_passwords_are_throttled_per_user_and_per_client():
    now = [0.0]
    throttle = LoginThrottle(max_failures=3, window_s=60, lockout_s=300, clock=lambda: now[0], client_max_failures=5)
    accounts = Accounts.from_yaml(accounts_yaml(), "users.yaml", DESTINATIONS)
    for _ in range(3):
        with pytest.raises(LoginRefused, match="wrong user name or password"):
            accounts.authenticate("l.dubois", "guess", "10.0.0.7", throttle)
    with pytest.raises(LoginRefused, match="too many") as refused:
        accounts.authenticate("l.dubois", "correct horse", "10.0.0.8", throttle)   # even the right one
    assert refused.value.retry_after_s == 301
    # One person's typos do not lock out the others behind the same address ...
    with pytest.raises(LoginRefused, match="wrong user name or password"):
        accounts.authenticate("nobody", "x", "10.0.0.7", throttle)
    # ... but a client trying many names is stopped at its own, higher, limit (its fifth failure).
    with pytest.raises(LoginRefused, match="wrong user name or password"):
        accounts.authenticate("nobody2", "x", "10.0.0.7", throttle)
    with pytest.raises(LoginRefused, match="too many"):
        accounts.authenticate("nobody3", "x", "10.0.0.7", throttle)
    now[0] = 301
    assert accounts.authenticate("l.dubois", "correct horse", "10.0.0.8", throttle).name == "l.dubois"


def test_an_unknown_user_is_refused_like_a_wrong_password():
    accounts = Accounts.from_yaml(accounts_yaml(), "users.yaml", DESTINATIONS)
    with pytest.raises(LoginRefused, match="wrong user name or password"):
        accounts.authenticate("mallory", "correct horse", "10.0.0.9", LoginThrottle())


def test_an_account_whose_centre_does_not_list_the_user_is_refused_at_start():
    from console.server import check_accounts
    from gateway.config import parse_config

    config = parse_config("national: cic-nat\ndestinations:\n  cic-nat: {users: [n1]}\n"
                          "  cic-lie: {users: [l.dubois]}\nroute:\n  destination: cic-nat\n", "routing.yaml")
    check_accounts(Accounts([Account("l.dubois", "scrypt$x", frozenset({"cic-lie"}))]), config)
    with pytest.raises(AccountsError, match="user 'n.peeters' is not among the users of cic-lie"):
        check_accounts(Accounts([Account("n.peeters", "scrypt$x", frozenset({"cic-lie"}))]), config)
