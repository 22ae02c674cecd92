"""nbgrader settings of the ftlab fine-tuning course; run every nbgrader command from this directory."""
from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, DeduplicateIds, OverwriteCells, OverwriteKernelspec

from ftlab.course.restore import RestoreMissingCells

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "ftlab-finetuning"

# Seconds one cell may run while autograding (nbgrader 0.9 reads Execute.timeout; its default is 30).
# The fine-tuning task trains a short seeded run under NBGRADER_EXECUTION and needs well under this.
c.Execute.timeout = 120
# On a timeout, interrupt the kernel, record a CellTimeoutError in that cell and go on with the next
# one: an endless loop costs only the points of the tests that need its result.
c.Execute.interrupt_on_timeout = True
# After a cell's reply, nbgrader 0.9 waits only 4 s for its last output and then fails the whole
# notebook (raise_on_iopub_timeout=True). On a loaded grading machine that hits even `import torch`,
# so wait longer and, if the output is still late, keep the reply and go on.
c.Execute.iopub_timeout = 15
c.Execute.raise_on_iopub_timeout = False

# Put back cells a student deleted (even all of them) before OverwriteCells restores edited ones
# from their checksums; nbgrader's own add_missing_cells fails on an emptied notebook.
c.Autograde.sanitize_preprocessors = [
    ClearOutput, DeduplicateIds, OverwriteKernelspec, RestoreMissingCells, OverwriteCells, CheckCellMetadata,
]
