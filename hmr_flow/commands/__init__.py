"""The ``hmr-flow`` sub-commands, one module per command group; each has ``register(subparsers)``, which
adds its parsers, each setting ``run=<callable(args) -> exit code>``. The top layer: commands may import
any part of the library, and no library module imports them.

This package's own import is light (no torch): :data:`SUMMARIES` is what ``hmr-flow --help`` lists, and the
command line imports a command's module only when that command is run (:func:`hmr_flow.cli.main`).
"""

#: Every command group in help order: its name (also its module's) and the one line ``hmr-flow --help``
#: shows; each module's ``register`` gives its parser this line.
SUMMARIES: dict[str, str] = {
    "prior": "pose prior: train, score poses, sample poses",
    "fit": "fit the body model to 2D keypoints",
    "train": "train networks (hmr: image → pose-flow regressor)",
    "regress": "pose hypotheses for the people in a keypoint file or photo",
    "detect": "detect people and their 2D keypoints in photos",
    "body": "open SMPL-compatible body model (MakeHuman-derived, CC0)",
}
