"""The `ftlab` command: info, demo, pretrain, and the revision and course commands."""
from __future__ import annotations

import argparse
import sys


def _info(args) -> None:
    import torch
    import torchvision

    from .device import describe, pick_device
    from .models import WEIGHTS_DIR, glyphnet_meta
    from .selfquiz.store import data_dir

    meta = glyphnet_meta()
    print(f"ftlab        {__import__('ftlab').__file__.rsplit('/', 1)[0]}")
    print(f"python       {sys.version.split()[0]}")
    print(f"torch        {torch.__version__} (CUDA build: {torch.version.cuda or 'no'})")
    print(f"torchvision  {torchvision.__version__}")
    print(f"device       {describe(pick_device())}  (cuda available: {torch.cuda.is_available()})")
    print(f"hub cache    {torch.hub.get_dir()}/checkpoints  (torchvision ImageNet weights go here)")
    print(f"data dir     {data_dir()}  (self-quiz progress; set FTLAB_DATA_DIR to move it)")
    print(f"offline model glyphnet: {WEIGHTS_DIR / meta['file']} "
          f"({meta['num_params']:,} parameters, source accuracy {meta['source_val_accuracy']:.3f})")


def _demo(args) -> None:
    from .demo import DemoConfig, run_demo

    cfg = DemoConfig(plot=args.plot) if not args.quick else DemoConfig.quick(plot=args.plot)
    run_demo(cfg)


def _course(args) -> None:
    from .course.build import run

    status = run(args)
    if status:
        sys.exit(status)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ftlab", description="Learn, teach and revise fine-tuning of vision models.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    sub.add_parser("info", help="versions, device found and cache locations").set_defaults(run=_info)
    demo = sub.add_parser("demo", help="compare scratch, head-only, fine-tuning and the recipe (offline, CPU, < 2 min)")
    demo.add_argument("--plot", default="ftlab-demo.png", help="where to save the curves (PNG)")
    demo.add_argument("--quick", action="store_true", help="one seed and a shorter budget (for tests)")
    demo.set_defaults(run=_demo)
    pre = sub.add_parser("pretrain", help="re-run the recipe that produced the shipped GlyphNet weights")
    from .pretrain import add_arguments as pretrain_arguments, run as pretrain

    pretrain_arguments(pre)
    pre.set_defaults(run=pretrain)
    from .selfquiz.terminal import add_parsers

    add_parsers(sub)  # quiz, revise
    from .course.build import add_arguments

    course = sub.add_parser("course", help="the nbgrader course in quizzes/")
    actions = course.add_subparsers(dest="action", required=True, metavar="action")
    build = actions.add_parser("build", help="write quizzes/source/ from the question bank (--check: only compare)")
    add_arguments(build)
    build.set_defaults(run=_course)
    from .course.autograde import add_parsers as autograde_parsers

    autograde_parsers(actions)  # autograde, merge
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
