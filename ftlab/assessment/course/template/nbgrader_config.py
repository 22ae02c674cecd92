"""nbgrader settings of the ftlab fine-tuning course (written by `ftlab course init`)."""
import functools
import os

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearOutput, DeduplicateIds,
                                    IgnorePattern, LimitOutput, OverwriteCells, OverwriteKernelspec)

from ftlab.assessment.course.execute import BoundedExecute
from ftlab.assessment.course.grader import GradeCells, InsertStateDumps, SaveCourseGrades
from ftlab.assessment.course.inert import InertContent
from ftlab.assessment.course.intake import RefuseOddStudentIds, pre_convert
from ftlab.assessment.course.restore import RestoreCellMetadata, RestoreMissingCells

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file
HERE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "ftlab-finetuning"
c.CourseDirectory.root = HERE  # nbgrader commands and `jupyter lab` (the /formgrader page) work from any folder

# The exchange where release_assignment puts assignments and students submit: inside this folder, so no
# administrator is needed. Students on the same machine point their nbgrader at the same folder (README).
c.Exchange.root = os.path.join(HERE, "exchange")
os.makedirs(c.Exchange.root, exist_ok=True)

# Grading. The course-private bank (bank/*.toml, bank/solutions/*.py) holds every key; graded cells are scored
# in nbgrader's own process, never in the student's kernel (ftlab.assessment.course.grader).
c.GradeCells.show_answer = False  # True: feedback on a wrong answer also names the correct one
c.GradeCells.test_seed = 7919  # seed of the private test images of the fine-tuning task

# Per-student variants (ftlab/assessment/course/variants.py): in the assignments listed, each student gets options
# in another order, other pool items and other exercise settings, derived from this secret and their id, and is
# graded against their own. `ftlab course init` writes a random secret; never release it or change it mid-term.
# Add the students first (nbgrader db student add/import), then `ftlab course build` and generate_assignment.
c.CourseVariants.secret = "ftlab-quizzes-example-secret"
c.CourseVariants.assignments = []  # e.g. ["concepts", "freezing"]; `ftlab course init` turns these two on

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

# Intake, for plain `nbgrader autograde` too (`ftlab course autograde` grades a bounded copy anyway): links, FIFOs,
# oversized files, copies of this course's own files and JSON nested too deep are set aside before nbgrader reads the
# submission; when anything changes, the submission as it came is kept in quarantine/ and the notebook is flagged.
# A folder whose name is no student id (formgrader writes ids into its pages unescaped) is not graded at all.
c.Autograde.pre_convert_hook = functools.partial(pre_convert, HERE)

# Put back the released nbgrader metadata of every cell, flagging each change (nbgrader would refuse the notebook:
# "Inconsistent checksums"), and cells a student deleted (even all of them), before OverwriteCells restores edited
# ones from their checksums; nbgrader's own add_missing_cells fails on an emptied notebook.
c.Autograde.sanitize_preprocessors = [
    RefuseOddStudentIds, ClearOutput, RestoreCellMetadata, DeduplicateIds, OverwriteKernelspec, RestoreMissingCells,
    OverwriteCells, CheckCellMetadata,
]

# Execution. Each kernel runs under bubblewrap (ftlab/assessment/course/jail.py): read-only system, only the
# notebook's own folder writable, no course files, no network. Kernels are forks of a zygote that has already
# imported torch and ftlab (ftlab/assessment/course/zygote.py); as root, each kernel runs under a uid of its own.
# Without bwrap, grading refuses to start unless BoundedExecute.sandbox is set to False (ftlab course autograde
# --no-sandbox), for trusted submissions only.
# A cell past Execute.timeout is interrupted; if it ignores that for interrupt_grace seconds, or kills its kernel,
# the kernel is restarted and the earlier cells replayed. Either way only that cell is lost, and the notebook is
# flagged for the instructor (ftlab/assessment/course/execute.py). BoundedExecute reads the Execute settings above too.
c.BoundedExecute.interrupt_grace = 2  # seconds between SIGINT and killing the kernel
c.BoundedExecute.submission_timeout = 900  # wall seconds for one notebook, all cells and restarts together
c.BoundedExecute.memory_mb = 8192  # RLIMIT_AS of the kernel: importing torch alone maps ~3.6 GiB of address space
c.BoundedExecute.cpu_seconds = 900  # RLIMIT_CPU of the kernel
c.BoundedExecute.open_files = 256  # RLIMIT_NOFILE of the kernel
c.BoundedExecute.processes = 128  # RLIMIT_NPROC of the kernel's own uid, threads included: stops a fork bomb
c.BoundedExecute.file_mb = 512  # RLIMIT_FSIZE: the largest file the kernel may write
c.BoundedExecute.tmp_mb = 512  # size of the kernel's private /tmp (a tmpfs)

# nbgrader's autograde steps plus four: save each coding task's state after its answer cell, grade every test
# cell from the answers and that state and overwrite its outputs, send unsure scores to a person, and leave
# nothing in the autograded notebook that could run script where the instructor views it (formgrader, JupyterLab,
# feedback): markdown with active HTML is shown as text, outputs keep text and raster images (inert.py).
c.Autograde.autograde_preprocessors = [
    InsertStateDumps, BoundedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, GradeCells,
    SaveCourseGrades, AssignLatePenalties, InertContent, CheckCellMetadata,
]
# formgrader and generate_feedback render with this exporter: sanitise HTML and markdown outputs there too.
c.HTMLExporter.sanitize_html = True
c.ClearMetadataPreprocessor.preserve_nb_metadata_mask = {("language_info", "name"), ("ftlab",)}  # flags, timings
