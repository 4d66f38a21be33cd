"""Headless rendering (pyrender/EGL) in the OpenCV camera convention, and contact sheets."""

from hmr_flow.render.renderer import MeshSpec, close_renderers, offscreen_renderer, render_meshes, side_view
from hmr_flow.render.sheet import contact_sheet

__all__ = ["MeshSpec", "close_renderers", "contact_sheet", "offscreen_renderer", "render_meshes", "side_view"]
