"""The ``teachbind`` command: student versions of the chapters, grading, and the data registry.

    teachbind assignments OUT_DIR            student notebooks (solutions removed, checks kept)
    teachbind assignments OUT_DIR --handouts one notebook per exercise that runs on its own
    teachbind grade SUBMISSIONS --out F.csv  run and grade submitted notebooks
    teachbind data list|fetch|verify         the registry of real data files
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from teachbind import __version__

KNOWN_ERRORS = (FileExistsError, FileNotFoundError, NotADirectoryError, KeyError, ValueError)


def _assignments(args) -> int:
    import nbformat

    from teachbind.course import assignments, book, handouts

    chapters = book.chapters()
    if args.chapters:
        by_name = {path.stem: path for path in chapters}
        unknown = [name for name in args.chapters if name.removesuffix(".ipynb") not in by_name]
        if unknown:
            raise KeyError(f"no chapter {', '.join(unknown)}; the chapters are {', '.join(by_name)}")
        chapters = [by_name[name.removesuffix(".ipynb")] for name in args.chapters]
    if args.handouts:
        written = handouts.write_handouts(chapters, args.out_dir, force=args.force)
        print(f"{len(written)} handouts in {args.out_dir}, one per exercise, each running only the cells its "
              f"exercise needs; grade them with `teachbind grade ... --exercises LABEL`")
        return 0
    for chapter, path in zip(chapters, assignments.write_assignments(chapters, args.out_dir, force=args.force)):
        found = assignments.exercises(nbformat.read(chapter, as_version=4), chapter.name)
        print(f"wrote {path}: {len(found)} exercises, {sum(e.graded for e in found)} graded by a check")
    print(f"{len(chapters)} student notebooks in {args.out_dir}; the book's notebooks are the instructor's version")
    return 0


def _grade(args) -> int:
    from teachbind.course import grading

    limits = grading.Limits(seconds=args.timeout, memory=int(args.memory_gb * 2**30), threads=args.threads,
                            disk=int(args.disk_gb * 2**30))
    outcomes = grading.grade(args.submissions, args.out, reference=args.reference, scale=args.scale,
                             limits=limits, jobs=args.jobs, force=args.force, sandboxed=not args.no_sandbox,
                             exercises=args.exercises)
    full = sum(o.score[0] == o.score[1] and not o.problems for o in outcomes)
    print(f"graded {len(outcomes)} submissions ({full} with full marks): {args.out} and "
          f"{args.out.with_name(args.out.stem + '-feedback')}/")
    return 0


def _chosen(args) -> list[str]:
    from teachbind.data import registered

    names = sorted(registered())
    if args.paths:
        unknown = [p for p in args.paths if p not in registered() and not any(n.startswith(p.rstrip("/") + "/")
                                                                              for n in names)]
        if unknown:
            raise KeyError(f"{', '.join(unknown)}: not a registered file or folder (see `teachbind data list`)")
        names = [n for n in names if any(n == p or n.startswith(p.rstrip("/") + "/") for p in args.paths)]
    return names


def _data(args) -> int:
    from tqdm import tqdm

    from teachbind.data import registry

    names = _chosen(args)
    if args.action == "list":
        rows = [(name, registry.local_copy(name)[1], registry.entry(name).url or "(none: mirror only)")
                for name in names]
        if not args.paths:
            folders: dict[str, list] = {}
            for name, where, url in rows:
                folders.setdefault(name.split("/")[0], []).append(where)
            print(f"{'folder':36s} {'files':>5s}  local copies")
            for folder, places in folders.items():
                counts = ", ".join(f"{places.count(p)} {p}" for p in ("mirror", "cache", "missing") if p in places)
                print(f"{folder + '/':36s} {len(places):5d}  {counts}")
        else:
            print(f"{'file':72s} {'local copy':10s} upstream")
            for name, where, url in rows:
                print(f"{name:72s} {where:10s} {url}")
        mirror = registry.mirror_dir()
        print(f"\n{len(names)} files. Mirror: {mirror or 'not set (TEACHBIND_DATA_DIR)'}; cache: "
              f"{registry.cache_dir()}")
        return 0
    failures = []
    for name in tqdm(names, desc=args.action, unit="file", file=sys.stdout):
        try:
            if args.action == "fetch":
                registry.fetch(name, progress=True)
            else:
                registry.verify(name)
        except (registry.ChecksumError, registry.DataNotFoundError) as error:
            failures.append(str(error))
    for failure in failures:
        print(failure, file=sys.stderr)
    print(f"{len(names) - len(failures)} of {len(names)} files "
          f"{'ready' if args.action == 'fetch' else 'verified'}")
    return 1 if failures else 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="teachbind", description=__doc__.split("\n\n")[0])
    main.add_argument("--version", action="version", version=f"teachbind {__version__}")
    commands = main.add_subparsers(dest="command", required=True)

    assign = commands.add_parser("assignments", help="write student versions of the chapters",
                                 description="Write each chapter without its solutions: solution code becomes a stub "
                                             "that raises NotImplementedError with a hint; statements and checks "
                                             "stay; outputs are cleared.")
    assign.add_argument("out_dir", type=Path, help="folder for the student notebooks (created)")
    assign.add_argument("--chapters", nargs="+", metavar="NAME", help="e.g. 01_sequences (default: all)")
    assign.add_argument("--force", action="store_true", help="replace student notebooks already in OUT_DIR")
    assign.add_argument("--handouts", action="store_true",
                        help="write one handout per exercise instead: the exercise and only the chapter cells it "
                             "needs, so it runs on its own at quick scale")
    assign.set_defaults(run=_assignments)

    grade = commands.add_parser("grade", help="run and grade submitted notebooks",
                                description="Run every notebook in SUBMISSIONS (NAME.ipynb, or NAME/any.ipynb) at "
                                            "quick scale, each in a bubblewrap sandbox (no network, read-only "
                                            "system, a private folder, its own processes) with time, memory and "
                                            "disk limits, and judge its checks outside the sandbox. The course page "
                                            "says what the sandbox stops and what it does not.")
    grade.add_argument("submissions", type=Path, help="folder of submitted notebooks")
    grade.add_argument("--out", type=Path, required=True, help="grades CSV to write (feedback goes beside it)")
    grade.add_argument("--reference", type=Path, help="the instructor's chapter notebook (default: the book "
                                                     "chapter each submission's metadata names)")
    grade.add_argument("--exercises", nargs="+", metavar="LABEL",
                       help="grade handouts of these exercises (e.g. ex-scan): run only the cells they need and "
                            "grade only their checks")
    grade.add_argument("--scale", default="quick", choices=["quick", "book", "paper"])
    grade.add_argument("--timeout", type=float, default=600, help="seconds per submission (default 600)")
    grade.add_argument("--memory-gb", type=float, default=4, help="resident memory per submission (default 4)")
    grade.add_argument("--disk-gb", type=float, default=1, help="private disk (its /tmp) per submission (default 1)")
    grade.add_argument("--jobs", type=int, help="submissions run at once (default: one per CPU core)")
    grade.add_argument("--threads", type=int, help="CPU threads per submission (default: cores / jobs)")
    grade.add_argument("--force", action="store_true", help="replace an existing grades file and feedback")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="run without the sandbox, as you: for trusted notebooks only (your own, a colleague's)")
    grade.set_defaults(run=_grade)

    data = commands.add_parser("data", help="list, fetch or verify the real data files",
                               description="The registry of real data files: each has an upstream URL at a pinned "
                                           "commit and a sha256. A mirror folder (TEACHBIND_DATA_DIR) is used in "
                                           "place; otherwise files are downloaded into the cache "
                                           "(TEACHBIND_CACHE_DIR).")
    data.add_argument("action", choices=["list", "fetch", "verify"])
    data.add_argument("paths", nargs="*", help="registered files or folders (default: all)")
    data.set_defaults(run=_data)
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from teachbind.course.grading.sandbox import SandboxUnavailable

    try:
        return args.run(args)
    except (*KNOWN_ERRORS, SandboxUnavailable) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"teachbind {args.command}: error: {message}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
