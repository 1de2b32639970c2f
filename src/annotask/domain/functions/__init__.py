"""Native functions and the agents that run them (CVAT's ``/api/functions`` and lambda API).

- ``specs``: what a function declares when it is created, checked;
- ``registry``: who sees and manages functions; create, find, list, delete;
- ``mapping``: which task label receives each label a detector outputs;
- ``runs``: annotation requests on the user's side: create, read, cancel;
- ``agents``: the agent's side: acquire, progress and lease, and the result
  saved as the task's annotations.
"""
