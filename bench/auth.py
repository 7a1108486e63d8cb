"""Sign-in benchmark (#9): what account security costs per request, on the embedded SQLite.

- ``password_sign_in``: ``accounts.sign_in`` with the right password (lockout check, argon2 verify,
  attempt row, session row, commit), p50/p95.
- ``wrong_password``: the same with a wrong password (lockout check, argon2, attempt row).
- ``session_lookup``: ``accounts.user_for_token``, the check every page event, file download and
  API call makes (hash, session row, idle/expiry check, user row), p50/p95 and per second.
- ``locked_refusal``: a sign-in refused by the lockout (no argon2; the database answers).

Prints JSON lines. Usage: python bench/auth.py [--sign-ins 30] [--lookups 2000]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def _line(name: str, times: list[float], **extra: object) -> None:
    print(
        json.dumps(
            {
                "bench": name,
                "n": len(times),
                "p50_ms": round(statistics.median(times) * 1000, 2),
                "p95_ms": round(_pct(times, 0.95) * 1000, 2),
                "per_s": round(len(times) / sum(times), 1),
                **extra,
            }
        ),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sign-ins", type=int, default=30)
    parser.add_argument("--lookups", type=int, default=2000)
    args = parser.parse_args()
    os.environ["LABELHUB_DATA_DIR"] = tempfile.mkdtemp(prefix="lh-bench-auth-")

    from labelhub_app.db import session_scope
    from labelhub_app.errors import NotAuthenticated
    from labelhub_app.migrations import upgrade
    from labelhub_app.services import accounts

    upgrade()
    password = "bench-password"
    with session_scope() as session:
        people = [
            accounts.sign_up(
                session, email=f"p{i}@bench.test", password=password, roles=["producer"]
            )
            for i in range(args.sign_ins)
        ]
        ok: list[float] = []
        tokens = []
        for i, person in enumerate(people):
            started = time.perf_counter()
            tokens.append(
                accounts.sign_in(
                    session, email=person.email, password=password, client_ip=f"10.0.0.{i % 250}"
                )
            )
            ok.append(time.perf_counter() - started)
        _line("password_sign_in", ok)

        wrong: list[float] = []
        for i, person in enumerate(people):
            started = time.perf_counter()
            with contextlib.suppress(NotAuthenticated):
                accounts.sign_in(
                    session, email=person.email, password="x", client_ip=f"10.1.0.{i % 250}"
                )
            wrong.append(time.perf_counter() - started)
        _line("wrong_password", wrong)

        lookups: list[float] = []
        for i in range(args.lookups):
            started = time.perf_counter()
            assert accounts.user_for_token(session, tokens[i % len(tokens)]) is not None
            lookups.append(time.perf_counter() - started)
        _line("session_lookup", lookups)

        target = people[0].email
        for _ in range(5):
            with contextlib.suppress(NotAuthenticated):
                accounts.sign_in(session, email=target, password="x", client_ip="10.2.0.1")
        refused: list[float] = []
        for _ in range(args.sign_ins):
            started = time.perf_counter()
            with contextlib.suppress(accounts.TooManyAttempts):
                accounts.sign_in(session, email=target, password=password, client_ip="10.2.0.1")
            refused.append(time.perf_counter() - started)
        _line("locked_refusal", refused)


if __name__ == "__main__":
    main()
