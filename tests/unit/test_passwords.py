"""Passwords are stored as argon2id hashes (R20): salted, verified in constant shape, and a wrong
user name costs one verification like a wrong password does."""

from __future__ import annotations

from argon2 import PasswordHasher

from app.auth import passwords


def test_a_password_is_stored_as_a_salted_argon2id_hash():  # R20
    first, second = passwords.hash_password("correct horse 1"), passwords.hash_password("correct horse 1")
    assert first.startswith("$argon2id$")
    assert "correct horse" not in first
    assert first != second  # a fresh salt each time


def test_the_right_password_verifies_and_a_wrong_one_does_not():  # R20
    stored = passwords.hash_password("correct horse 1")
    assert passwords.verify(stored, "correct horse 1") is True
    assert passwords.verify(stored, "correct horse 2") is False
    assert passwords.verify(stored, "") is False


def test_a_user_without_a_password_never_signs_in_even_with_the_dummy_password():  # R20
    assert passwords.verify(None, "not a password anyone has") is False
    assert passwords.verify(None, "anything") is False


def test_an_unknown_user_costs_one_verification_like_a_wrong_password(monkeypatch):  # R20
    seen: list[str] = []
    real = passwords._hasher

    class Spy:
        def verify(self, hash_: str, password: str) -> bool:
            seen.append(hash_)
            return real.verify(hash_, password)

    monkeypatch.setattr(passwords, "_hasher", Spy())
    assert passwords.verify(None, "guess") is False
    assert seen == [passwords._DUMMY]


def test_a_stored_value_that_is_not_a_hash_is_refused_not_an_error():
    assert passwords.verify("plaintext-password", "plaintext-password") is False
    assert passwords.verify("$argon2id$garbage", "x") is False


def test_a_hash_made_with_weaker_parameters_needs_rehashing():
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("correct horse 1")
    assert passwords.verify(weak, "correct horse 1") is True
    assert passwords.needs_rehash(weak) is True
    assert passwords.needs_rehash(passwords.hash_password("correct horse 1")) is False
