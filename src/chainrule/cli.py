"""The ``chainrule`` command: ``chainrule train`` and the other subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _digits(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(d) for d in text.replace(",", " ").split())
    except ValueError:
        raise argparse.ArgumentTypeError(f"digits must be integers, got {text!r}") from None


def _add_train_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a two-layer MLP on MNIST (4 vs 9 by default)",
                       description="Train an MLP on MNIST digits. Offline by default: the "
                                   "4-vs-9 data ships with chainrule.")
    p.add_argument("--digits", type=_digits, nargs="+", default=[(4, 9)], metavar="D",
                   help="digits to tell apart (default: 4 9; others need --full)")
    p.add_argument("--hidden", type=int, nargs="+", default=[128], metavar="N",
                   help="hidden layer sizes (default: 128)")
    p.add_argument("--activation", choices=("relu", "tanh", "sigmoid"), default="relu")
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs in all (default: 15; with --resume: the run's own)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate (default: 1e-3 for adam, 0.05 for sgd)")
    p.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--device", default="cpu",
                   help="cpu (default) or cuda: an NVIDIA GPU through CuPy "
                        "(pip install 'chainrule[gpu]')")
    p.add_argument("--full", action="store_true",
                   help="download the whole MNIST set once (checksum-verified, cached)")
    p.add_argument("--out", default=None, help="run folder (default: runs/<date-time>)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--resume", default=None, metavar="RUN_DIR",
                   help="continue the run kept in RUN_DIR (its own settings; --epochs may "
                        "raise its total)")
    p.add_argument("--jit", action=argparse.BooleanOptionalAction, default=None,
                   help="trace the training step once with chainrule.jit and replay it, on "
                        "the CPU (default: --no-jit, the eager step, as fast for this job; "
                        "the same numbers and run folder either way: --resume may switch)")
    p.set_defaults(run=_run_train)


def _run_train(args: argparse.Namespace) -> int:
    from chainrule.train import TrainConfig, train

    if args.resume is not None:
        config = _resumed_config(args)
    else:
        digits = tuple(d for group in args.digits for d in group)
        config = TrainConfig(
            digits=digits, hidden=tuple(args.hidden), activation=args.activation,
            epochs=args.epochs if args.epochs is not None else 15,
            batch_size=args.batch_size,
            lr=args.lr if args.lr is not None else (1e-3 if args.optimizer == "adam" else 0.05),
            optimizer=args.optimizer, seed=args.seed, dtype=args.dtype, device=args.device,
            full=args.full,
            out=args.out, progress=not args.no_progress, jit=bool(args.jit))
    result = train(config, resume=args.resume is not None)
    return 1 if result.stopped or result.gradient_check.get("status") == "failed" else 0


def _resumed_config(args: argparse.Namespace):
    """The settings of the run in ``args.resume`` (from its checkpoint), with --epochs,
    --jit/--no-jit and --no-progress applied."""
    from pathlib import Path

    from chainrule import runfolder
    from chainrule.train import TrainConfig

    saved = runfolder.load(Path(args.resume)).meta["config"]
    saved.update(digits=tuple(saved["digits"]), hidden=tuple(saved["hidden"]),
                 out=args.resume, progress=not args.no_progress)
    if args.epochs is not None:
        saved["epochs"] = args.epochs
    if args.jit is not None:
        saved["jit"] = args.jit
    return TrainConfig(**saved)


def build_parser() -> argparse.ArgumentParser:
    from chainrule._version import __version__

    parser = argparse.ArgumentParser(prog="chainrule",
                                     description="chainrule: automatic differentiation on NumPy")
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train_parser(sub)
    from chainrule.exercises.command import add_parser as add_exercises_parser

    add_exercises_parser(sub)
    from chainrule.exercises.check_command import add_parser as add_check_parser

    add_check_parser(sub)
    from chainrule.cli_graph import add_graph_parser

    add_graph_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``chainrule`` console script; returns the exit status."""
    from chainrule.backend import DeviceError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, OSError, ImportError, DeviceError) as e:  # bad options, offline,
        # no matplotlib, no GPU
        print(f"chainrule {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"chainrule {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
