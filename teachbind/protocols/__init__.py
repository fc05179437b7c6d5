"""Each chapter's protocol as one function a learner can call on the book's data or on files of their own."""

from teachbind.protocols import ideep

__all__ = ["ideep"]
