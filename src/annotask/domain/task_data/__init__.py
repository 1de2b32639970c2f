"""A task's media data: upload parameters, the creation pipeline, frames and chunks."""
