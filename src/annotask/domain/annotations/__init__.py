"""Annotations of jobs and tasks: storage, task views, imports, exports and backups.

- ``rows``: ``AnnotationSet`` to and from the per-job tables;
- ``service``: the JSON API (read, put, patch, delete) for jobs and tasks, with
  the version check;
- ``importing`` / ``exporting``: annotation files in and dataset zips out;
- ``backup``: task backups and their restore.
"""
