"""The course machinery, apart from the field's ideas: running the book (:mod:`~teachbind.course.book`, with its
execution cache :mod:`~teachbind.course.cache` fed by :mod:`~teachbind.course.dependencies`), gluing and recording
each chapter's numbers (:mod:`~teachbind.course.report`), student versions of the chapters
(:mod:`~teachbind.course.assignments`), the exercise checks (:mod:`~teachbind.course.exercises`), the sandboxed
grader (:mod:`~teachbind.course.grading`), the ``teachbind`` command (:mod:`~teachbind.course.cli`), the chapters'
study-time estimate (:mod:`~teachbind.course.study`) and the API page's note of which chapter introduces each
function (:mod:`~teachbind.course.chapters`)."""
