"""The nbgrader course: notebooks generated from a course-private bank, graded in nbgrader's process, never in the student's kernel."""
