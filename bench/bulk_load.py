#!/usr/bin/env python3
"""Bulk loader for bench/: fills a pmrobokassa store with payments, fast.

The store must exist with our schema (create it with `pmrobokassa --command
method.add ...` first). Inserts COUNT payments in status 1 with ids START ..
START+COUNT-1, each with the status_history row payment.add would write, in
one transaction through SQLite itself (a recursive CTE: no per-row Python),
then checkpoints and truncates the WAL so the store is one compact file.

    bench/bulk_load.py --db ROOT/var/pmrobokassa.db --method 1 --count 1000000
"""

import argparse
import sqlite3
import time


def load(db_path, method_id, count, start=1, amount=99000, currency="RUB"):
    """Inserts the payments; returns the seconds it took."""
    began = time.monotonic()
    now = int(time.time())
    db = sqlite3.connect(db_path, isolation_level=None)
    try:
        db.execute("PRAGMA busy_timeout = 10000")
        db.execute("BEGIN IMMEDIATE")
        cte = ("WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n "
               "WHERE i < ?1 + ?2 - 1) ")
        db.execute(cte + "INSERT INTO payments (id, method_id, amount, currency, description, "
                   "status, created_at, updated_at) "
                   "SELECT i, ?3, ?4, ?5, 'Invoice #' || i, 1, ?6, ?6 FROM n",
                   (start, count, method_id, amount, currency, now))
        db.execute(cte + "INSERT INTO status_history (payment_id, from_status, to_status, "
                   "amount, source, at) SELECT i, 0, 1, ?4, 'payment.add', ?6 FROM n",
                   (start, count, method_id, amount, currency, now))
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return time.monotonic() - began


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the store: MGR5_ROOT/var/pmrobokassa.db")
    parser.add_argument("--method", type=int, required=True, help="the payments' method id")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--start", type=int, default=1, help="the first payment id")
    parser.add_argument("--amount", type=int, default=99000, help="in kopecks")
    args = parser.parse_args()
    seconds = load(args.db, args.method, args.count, args.start, args.amount)
    print(f"{args.count} payments in {seconds:.1f} s")


if __name__ == "__main__":
    main()
