"""Two processes opening a brand-new SQLite database at once (`serve` and `worker` at first boot)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from core.persistence.database import create_engine


async def test_a_connection_waits_for_a_writer_on_a_fresh_database_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    other = sqlite3.connect(path, isolation_level=None)  # another process, still in rollback-journal mode
    other.execute("CREATE TABLE t (i INTEGER)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (1)")
    asyncio.get_running_loop().call_later(0.5, other.execute, "COMMIT")
    engine = create_engine(f"sqlite:///{path}")
    try:
        async with engine.connect() as connection:
            assert (await connection.exec_driver_sql("SELECT count(*) FROM t")).scalar() == 1
    finally:
        await engine.dispose()
        other.close()
