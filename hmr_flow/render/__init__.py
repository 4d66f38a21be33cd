"""Headless rendering (pyrender/EGL) in the OpenCV camera convention, and contact sheets.

Importing this package does not import pyrender/PyOpenGL: the first render does (:func:`load_pyrender`)."""

from hmr_flow.render.renderer import MeshSpec, close_renderers, load_pyrender, offscreen_renderer, render_meshes, side_view
from hmr_flow.render.sheet import contact_sheet

__all__ = ["MeshSpec", "close_renderers", "contact_sheet", "load_pyrender", "offscreen_renderer", "render_meshes", "side_view"]
