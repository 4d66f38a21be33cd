"""Synthetic training images with exact ground truth: ``python -m data_tools synth {render,preview}``.

Modules: :mod:`.sampling` (random scene parameters), :mod:`.appearance` (clothing colours),
:mod:`.backgrounds`, :mod:`.visibility` (keypoint occlusion from the depth buffer),
:mod:`.renderer` (pyrender/EGL), :mod:`.shards` (writer), :mod:`.pipeline` (whole sets, workers,
benchmark hook), :mod:`.preview` (contact sheet). The format and the dataset class live in
:mod:`hmr_flow.data`.
"""
