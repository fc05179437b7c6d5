"""Grading submitted chapter notebooks: each run in a sandbox, each check judged outside it.

:func:`grade` grades a folder (:mod:`.batch`); :mod:`.notebooks` reads submissions as data and builds what runs;
:mod:`.sandbox` is the bubblewrap sandbox; :mod:`.inside` is the grader's side within it; :mod:`.exchange` is the
plain-data format that comes back.
"""

from teachbind.course.grading.batch import NOTEBOOK_ROW, Limits, Outcome, csv_field, feedback_text, grade, load_reference
from teachbind.course.grading.notebooks import ReferenceError, Submission, find_submissions
from teachbind.course.grading.sandbox import SandboxUnavailable

__all__ = ["NOTEBOOK_ROW", "Limits", "Outcome", "ReferenceError", "SandboxUnavailable", "Submission", "csv_field",
           "feedback_text", "find_submissions", "grade", "load_reference"]
