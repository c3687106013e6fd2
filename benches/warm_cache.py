#!/usr/bin/env python3
"""Put capture files in the page cache in a known state before a timed run.

    warm_cache.py huge FILE...    the files' pages in 2 MiB folios where the kernel can
    warm_cache.py small FILE...   the files' pages in small folios

`flowsight read` maps a capture and advises the mapping huge (crates/pcapfile/src/reader.rs):
where the page cache holds the file in 2 MiB folios, the mapping takes 512 times fewer page
table entries, a tenth of a one-thread read's time. Which folios the cache holds depends on
how the file came into it: read from disk through a huge-advised mapping (what flowsight
does with a file it reads cold), 2 MiB; written, copied or read with read() (a capture just
taken or copied, or read by another tool), small ones. So a benchmark says which it
measured: each mode first drops the files' clean pages from the cache (POSIX_FADV_DONTNEED:
these files only) and reads them again the way that gives its folios ("huge": through a
mapping advised MADV_HUGEPAGE, populated; "small": read() without readahead). A kernel or
filesystem without large folios gives small folios both ways.

Prints how much of the machine's file cache is in huge folios afterwards (FileHugePages:
the whole machine's, so a page another process still maps, which eviction leaves, goes
unnoticed there).
"""

import mmap
import os
import sys

MADV_POPULATE_READ = 22  # <linux/mman.h>, Linux 5.14; not in Python's mmap before 3.13
CHUNK = 8 << 20


def evict(fd: int) -> None:
    os.fsync(fd)  # dirty pages (a file just written) are not dropped
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


def read_huge(fd: int, size: int) -> None:
    with mmap.mmap(fd, size, prot=mmap.PROT_READ) as m:
        m.madvise(mmap.MADV_HUGEPAGE)
        m.madvise(MADV_POPULATE_READ)


def read_small(fd: int) -> None:
    # No readahead: with it the kernel reads into large folios too (up to 2 MiB when
    # read_ahead_kb allows, as on this VM's 8 MiB); without, in 4 KiB pages, as the cache
    # of a file written a packet at a time can be.
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
    while os.read(fd, CHUNK):
        pass


def file_huge_pages_mib() -> int:
    for line in open("/proc/meminfo"):
        if line.startswith("FileHugePages:"):
            return int(line.split()[1]) // 1024
    return 0


def main() -> int:
    if len(sys.argv) < 3 or sys.argv[1] not in ("huge", "small"):
        print("usage: warm_cache.py huge|small FILE...", file=sys.stderr)
        return 2
    mode = sys.argv[1]
    for path in sys.argv[2:]:
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                size = os.fstat(fd).st_size
                evict(fd)
                if mode == "huge" and size > 0:
                    try:
                        read_huge(fd, size)
                    except OSError:
                        # No MADV_POPULATE_READ (Linux < 5.14) or no huge pages: the
                        # kernel can give small folios only; read the file anyway.
                        read_small(fd)
                else:
                    read_small(fd)
            finally:
                os.close(fd)
        except (OSError, ValueError) as e:
            print(f"warm_cache.py: {path}: {getattr(e, 'strerror', None) or e}", file=sys.stderr)
            return 1
    print(f"page cache warmed ({mode}): FileHugePages {file_huge_pages_mib()} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
