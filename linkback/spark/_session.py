"""The Spark session ``linkback spark extract`` runs in, and what it needs of the machine.

Locally (``--master local[N]``, the default ``local[*]``) the session is made here: the driver
binds 127.0.0.1 only (``SPARK_LOCAL_IP``, ``spark.driver.host``/``bindAddress``), the web UI is
off, and the Python workers run this interpreter (``PYSPARK_PYTHON``: the venv linkback is
installed in). Under ``spark-submit`` (YARN, Kubernetes, a standalone cluster) the session is the
one spark-submit started, with its master, addresses and Python; only the SQL settings the job
needs are set on it (:data:`SQL_CONF`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

#: Set on every session the job runs in: UTC timestamps written as Parquet TIMESTAMP(MICROS,
#: UTC) (Spark still writes INT96 by default), zstd, row groups small enough for readers to skip.
SQL_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.parquet.compression.codec": "zstd",
    "spark.sql.adaptive.enabled": "true",
}
#: Set on a session made here (a local master): loopback only, no UI, quiet logs.
LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.ui.showConsoleProgress": "false",
    # Parquet row groups of 32 MB rather than 128: more min/max statistics for readers to skip by.
    "spark.hadoop.parquet.block.size": str(32 * 2**20),
}
LOG_CONFIG = Path(__file__).with_name("log4j2.properties")
JAVA_OPTIONS = "spark.driver.extraJavaOptions"
#: Java releases PySpark 4 runs on.
JAVA_RELEASES = (17, 21)


def under_spark_submit() -> bool:
    """Is this Python the driver spark-submit started (its JVM is already running)?"""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def unavailable() -> str | None:
    """Why a Spark session cannot start here (no pyspark, no Java), or None."""
    try:
        import pyspark  # noqa: F401, PLC0415
    except ImportError:
        return "pyspark is not installed: pip install 'linkback[spark]' (the spark extra)"
    if under_spark_submit():
        return None
    java = _java()
    if java is None:
        return "no Java: Spark needs Java 17 (Debian: apt-get install openjdk-17-jre-headless; or set JAVA_HOME)"
    release = _java_release(java)
    if release is not None and release < JAVA_RELEASES[0]:
        return f"{java} is Java {release}: Spark 4 needs Java 17 or later"
    return None


def _local_cores(master: str) -> int:
    """The cores ``local``, ``local[N]``, ``local[*]`` (``local[N,F]``) run on."""
    inside = master[master.find("[") + 1 : master.find("]")] if "[" in master else "1"
    first = inside.split(",")[0].strip()
    if first == "*":
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
    return int(first) if first.isdigit() and int(first) > 0 else 1


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and os.access(os.path.join(home, "bin", "java"), os.X_OK):
        return os.path.join(home, "bin", "java")
    return shutil.which("java")


def _java_release(java: str) -> int | None:
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    for token in done.stderr.split():
        token = token.strip('"')
        if token[:1].isdigit():
            head = token.split(".")[0].split("-")[0].split("+")[0]
            return int(head) if head.isdigit() else None
    return None


def start(master: str | None = None, conf: dict[str, str] | None = None, app_name: str = "linkback-spark") -> Any:
    """A SparkSession for the job: ``master`` (default ``local[*]``) made here, or the one
    spark-submit started. ``conf`` is passed on as given (``--conf KEY=VALUE``)."""
    from pyspark.sql import SparkSession  # noqa: PLC0415 - the spark extra is optional

    builder = SparkSession.builder.appName(app_name)
    if not under_spark_submit():
        master = master or "local[*]"
        builder = builder.master(master)
        if master.startswith("local"):
            os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            for key, value in LOCAL_CONF.items():
                builder = builder.config(key, value)
            # Spark's JVM logs errors only (see log4j2.properties beside this file).
            java_options = f"-Dlog4j2.configurationFile={LOG_CONFIG.as_uri()} {(conf or {}).get(JAVA_OPTIONS, '')}"
            builder = builder.config(JAVA_OPTIONS, java_options.strip())
            # 200 shuffle partitions (the default, sized for a cluster) on one machine cost
            # more in per-partition overhead than they give; AQE merges small ones anyway.
            builder = builder.config("spark.sql.shuffle.partitions", str(4 * _local_cores(master)))
    for key, value in {**SQL_CONF, **(conf or {})}.items():
        if key != JAVA_OPTIONS or not (master or "").startswith("local"):
            builder = builder.config(key, value)
    spark = builder.getOrCreate()
    configure(spark, conf)
    return spark


def configure(spark: Any, conf: dict[str, str] | None = None) -> None:
    """Set :data:`SQL_CONF` (then ``conf``) on a running session: a session someone else made
    (spark-submit's, a test's) writes what the job needs too."""
    for key, value in {**SQL_CONF, **(conf or {})}.items():
        try:
            spark.conf.set(key, value)
        except Exception:  # noqa: BLE001 - a static setting of a running session: it was given at start
            pass
