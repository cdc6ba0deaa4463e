"""Roster import and export: a spreadsheet of people in, the same spreadsheet out (``export``).

Three stages, so that a dry run and a commit give the same answer:

1. ``read.read_table`` streams the file into raw rows: an XLSX once ``scan`` has checked its zip and
   XML as a stream (a zip bomb never reaches openpyxl), then through openpyxl's read-only reader; a
   CSV in UTF-8, GB18030/GBK or UTF-16 (``charset``: when UTF-8 and GBK both read it, the plausible
   one, or the uploader is asked). Whatever is not one clean table is refused here: oversize, a
   bomb, not a spreadsheet, unknown encoding, no template header, merged or formula cells, too
   many rows.
2. ``check.check_rows`` normalises every cell without touching the database; ``plan.build_plan``
   compares
   the rows with the database and yields problems or a change set. Both only read.
3. ``actions.apply_plan`` writes the change set in one transaction through the bulk verbs of
   ``org.actions``. An identical re-import yields an empty change set: nothing is written.

On the web every check and commit is a task on the queue (``tasks``, ``jobs``), never run in the
request; the uploaded file is private and short-lived (``jobs.purge_uploads``).

Problems carry the spreadsheet row (the header is row 1; row 0 means the file as a whole), the
template header of the column (``-`` for the whole file) and a message in the user's language.
Blank optional cells leave stored values as they are, so a file with fewer columns never erases data.
"""
