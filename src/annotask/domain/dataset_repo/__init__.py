"""Dataset repositories (git): a task's annotations pushed to a branch of a repository.

- ``parsing``: the "URL [PATH]" value, names of files and branches;
- ``git``: running the git binary (no shell, time limits, allowed protocols);
- ``workspace``: the task's local clone (clone, branch, write, commit, push, status);
- ``service``: attach, push and status for the API (database, background requests);
- ``jobs``: the clone and push the worker runs.
"""
