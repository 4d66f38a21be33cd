"""``python -m data_tools body``: build the open body model (code in :mod:`hmr_flow.body.build`) and render its preview."""
