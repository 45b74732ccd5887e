"""Make sample.warc.gz: every 10th record of ../shared/data/02_warc/real-pages-1169.warc.gz.

The gzip members are copied byte for byte, so each record is exactly as in the source archive.
    python tests/data/warc/real-pages/make_sample.py
"""

from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[4] / "shared" / "data" / "02_warc" / "real-pages-1169.warc.gz"

with open(SOURCE, "rb") as src, open(HERE / "sample.warc.gz", "wb") as out:
    members = []
    it = ArchiveIterator(src)
    for record in it:
        record.content_stream().read()
        members.append((it.get_record_offset(), it.get_record_length()))
    for offset, length in members[::10]:
        src.seek(offset)
        out.write(src.read(length))
    print(f"{len(members[::10])} of {len(members)} records")
