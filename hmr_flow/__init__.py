"""hmr-flow: 3D human mesh recovery with a normalizing-flow pose prior.

Sub-packages (each one job):

- :mod:`hmr_flow.flows`  — the normalizing-flow core (Glow-style layers, builders, distributions).
- :mod:`hmr_flow.body`   — the SMPL-compatible body model (open model or official SMPL files).
- :mod:`hmr_flow.render` — headless mesh rendering (pyrender, EGL).
"""

__version__ = "0.1.0"
