"""The script to give ``spark-submit``: ``linkback spark`` under a cluster's master.

    spark-submit --master yarn "$(python -c 'import linkback.spark.submit as s; print(s.__file__)')" \\
        extract --manifest warc.paths.gz --base s3a://commoncrawl/ --out s3a://bucket/linkback/

Its arguments are those of ``linkback spark``. The session is the one spark-submit started: its
master, its addresses and its Python (``spark.pyspark.python``) stand.
"""

from __future__ import annotations

import sys


def main() -> None:
    from linkback.cli._entry import main as linkback  # noqa: PLC0415

    sys.argv = ["linkback", "spark", *sys.argv[1:]]
    linkback()


if __name__ == "__main__":
    main()
