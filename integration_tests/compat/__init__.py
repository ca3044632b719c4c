"""The peers' own test suites run against tuskit (the ``compat`` nox session).

``suites`` says which suites there are and which tests may differ, ``runner`` runs one suite
in one column (peer or tuskit) and reads its JUnit report, ``report`` compares the columns
and prints the table, ``__main__`` ties them together for ``noxfile.py``.
"""
