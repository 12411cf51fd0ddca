"""Issue checks: one contract (``base``), a registry (``registry``), one file per check, one writer.

``sda2.issue_types()`` lists the registered checks; ``sda2.find_issues(dataset, types=None)`` runs them.
To add a check: subclass ``sda2.issues.base.IssueCheck`` in one file and ``register`` it.
"""
