"""Does the 3D body face the way the person in the photo faces? ``hmr-flow fit`` on a folder of photos of
people facing the camera, read back: the yaw of each fitted body from facing the camera.

    python bench/photos_3d.py --photos ../shared/data/images/office_cc0 [--sheet docs/photos_3d.png] [-- FIT OPTIONS]

Runs the command a user runs (``hmr-flow fit --images DIR --overlays``, detection included; options after
``--`` are passed on) into a temporary folder, then for every fitted person prints the yaw of the body's
forward axis from facing the camera (:func:`hmr_flow.metrics.yaw_from_frontal_deg`, degrees; 0 = facing
the camera) and the tilt of that axis from the image plane's normal (a bend towards or away from the camera
tilts it too), and the share of people within 30° of facing the camera. ``--sheet`` writes a contact sheet
of every fit's front view (mesh over the photo) and side view (the command's own overlay panels), labelled
with the yaw.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch

from hmr_flow.fitting.initialisation import FACING_CAMERA
from hmr_flow.images import read_rgb, write_image
from hmr_flow.metrics import facing_error_deg, yaw_from_frontal_deg
from hmr_flow.render.sheet import contact_sheet

#: Height of each front/side tile in the contact sheet, pixels.
TILE_HEIGHT = 300


def front_and_side(overlay: np.ndarray) -> np.ndarray:
    """The mesh-over-photo panel (the 2nd third of a fit overlay) and the side view (the 3rd third, cut to
    the columns the body covers plus a margin), side by side, scaled to :data:`TILE_HEIGHT`."""
    width = overlay.shape[1] // 3
    front, side = overlay[:, width : 2 * width], overlay[:, 2 * width : 3 * width]
    columns = np.flatnonzero((side < 245).any(axis=(0, 2)))
    if len(columns):
        margin = width // 20
        side = side[:, max(0, columns[0] - margin) : columns[-1] + 1 + margin]
    panels = np.concatenate([front, side], axis=1)
    scale = TILE_HEIGHT / panels.shape[0]
    return cv2.resize(panels, (round(panels.shape[1] * scale), TILE_HEIGHT), interpolation=cv2.INTER_AREA)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, required=True, help="folder of photos of people facing the camera")
    parser.add_argument("--sheet", type=Path, help="write a contact sheet of the front and side views here (.png)")
    parser.add_argument("--within", type=float, default=30.0, help="a body faces the camera within this yaw, degrees")
    parser.add_argument("fit_options", nargs="*", help="options passed to hmr-flow fit (after --)")
    args = parser.parse_args(argv)
    command = Path(sys.executable).with_name("hmr-flow")
    with tempfile.TemporaryDirectory() as out:
        run = [str(command), "fit", "--images", str(args.photos), "--out", out, "--overlays", *args.fit_options]
        done = subprocess.run(run, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            return done.returncode
        names, yaws, tilts, tiles = [], [], [], []
        for params in sorted(Path(out).glob("*_params.npz")):
            name = params.name.removesuffix("_params.npz")
            with np.load(params) as data:
                orient = torch.from_numpy(data["global_orient"]).double()
            yaw = yaw_from_frontal_deg(orient)
            tilt = facing_error_deg(orient, FACING_CAMERA.double().expand_as(orient))
            for person, (y, t) in enumerate(zip(yaw.tolist(), tilt.tolist())):
                names.append(f"{name}/{person}")
                yaws.append(y)
                tilts.append(t)
            overlay = Path(out) / f"{name}_overlay.png"
            if args.sheet and overlay.is_file():
                tiles.append((front_and_side(read_rgb(overlay)), f"{name[:28]}: yaw {', '.join(f'{y:.0f}' for y in yaw.tolist())}"))
    yaws_arr = np.abs(np.array(yaws))
    print("| person | yaw from facing the camera ° | forward axis from the camera's ° |\n|---|---|---|")
    for name, yaw, tilt in zip(names, yaws, tilts):
        print(f"| {name} | {yaw:.1f} | {tilt:.1f} |")
    within = int((yaws_arr <= args.within).sum())
    print(f"\n{within} of {len(yaws)} people within {args.within:g}° of facing the camera; median |yaw| "
          f"{np.median(yaws_arr):.1f}°, worst {yaws_arr.max():.1f}°")
    if args.sheet and tiles:
        width = max(tile.shape[1] for tile, _ in tiles)
        padded = [cv2.copyMakeBorder(tile, 0, 0, 0, width - tile.shape[1], cv2.BORDER_CONSTANT, value=(255, 255, 255))
                  for tile, _ in tiles]
        sheet = contact_sheet(padded, [label for _, label in tiles], columns=4)
        write_image(args.sheet, sheet)
        print(f"wrote {args.sheet}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
