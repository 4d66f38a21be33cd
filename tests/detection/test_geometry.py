"""Anchors, decoding, NMS and ROI geometry against hand-computed cases."""

import numpy as np
import pytest

from hmr_flow.detection.anchors import decode, ssd_anchor_centres
from hmr_flow.detection.nms import box_iou, match_boxes, nms, weighted_nms
from hmr_flow.detection.pipeline import tile_regions
from hmr_flow.detection.roi import ROI, letterbox, roi_from_alignment, roi_from_box


def test_anchor_layout_matches_the_detector_output():
    anchors = ssd_anchor_centres()
    assert anchors.shape == (2254, 2)  # 28²·2 + 14²·2 + 7²·6
    np.testing.assert_allclose(anchors[0], [0.5 / 28, 0.5 / 28])
    np.testing.assert_allclose(anchors[1], anchors[0])  # two anchors per cell at stride 8
    np.testing.assert_allclose(anchors[2], [1.5 / 28, 0.5 / 28])
    np.testing.assert_allclose(anchors[1568], [0.5 / 14, 0.5 / 14])  # first stride-16 anchor
    np.testing.assert_allclose(anchors[1960:1966], np.tile([0.5 / 7, 0.5 / 7], (6, 1)))  # stride 32: 6 per cell
    np.testing.assert_allclose(anchors[-1], [6.5 / 7, 6.5 / 7])


def test_decode_offsets_are_pixels_relative_to_the_anchor():
    anchors = np.array([[0.25, 0.5], [0.75, 0.75]], np.float32)
    raw = np.zeros((2, 12), np.float32)
    raw[0, :4] = [22.4, -11.2, 44.8, 89.6]  # centre +0.1, −0.05; size 0.2 × 0.4 (of 224 px)
    raw[0, 4:6] = [0.0, 22.4]  # keypoint 0: anchor + (0, 0.1)
    logits = np.array([2.0, -3.0], np.float32)  # sigmoid: 0.881, 0.047
    out = decode(raw, logits, anchors, min_score=0.5)
    assert len(out) == 1
    np.testing.assert_allclose(out.scores, [1 / (1 + np.exp(-2.0))], rtol=1e-6)
    np.testing.assert_allclose(out.boxes[0], [0.25, 0.25, 0.45, 0.65], atol=1e-6)
    np.testing.assert_allclose(out.keypoints[0, 0], [0.25, 0.6], atol=1e-6)
    np.testing.assert_allclose(out.keypoints[0, 1], [0.25, 0.5], atol=1e-6)


def test_box_iou_and_nms():
    a = np.array([[0, 0, 2, 2], [1, 0, 3, 2], [10, 10, 11, 11]], np.float64)
    iou = box_iou(a, a)
    assert iou[0, 1] == pytest.approx(2 / 6) and iou[0, 2] == 0.0 and iou[2, 2] == 1.0
    assert nms(a, np.array([0.5, 0.9, 0.7]), 0.3) == [1, 2]
    assert nms(a, np.array([0.5, 0.9, 0.7]), 0.4) == [1, 2, 0]
    clusters = weighted_nms(a, np.array([0.5, 0.9, 0.7]), 0.3)
    assert [list(c) for c in clusters] == [[1, 0], [2]]


def test_letterbox_maps_back_to_image_pixels():
    image = np.zeros((100, 200, 3), np.uint8)
    image[40:60, 150:170] = 255
    square, frame = letterbox(image, 224)
    assert square.shape == (224, 224, 3) and frame.scale == pytest.approx(1.12)
    ys, xs = np.nonzero(square[..., 0] > 127)
    centre = frame.to_image(np.array([xs.mean() + 0.5, ys.mean() + 0.5]) / 224)
    np.testing.assert_allclose(centre, [160, 50], atol=1.0)


def test_roi_crop_and_back_agree_for_a_rotated_roi():
    image = np.zeros((300, 400, 3), np.uint8)
    image[118:123, 248:253] = 255  # a dot centred at (250, 120)
    roi = ROI(np.array([200.0, 150.0]), 160.0, np.deg2rad(30.0))
    crop = roi.crop(image, 256)
    ys, xs = np.nonzero(crop[..., 0] > 127)
    back = roi.to_image(np.array([xs.mean() + 0.5, ys.mean() + 0.5]) / 256)
    np.testing.assert_allclose(back, [250, 120], atol=1.5)


def test_roi_rotation_follows_the_alignment_vector():
    upright = roi_from_alignment(np.array([100.0, 200.0]), np.array([100.0, 120.0]))
    assert upright.angle == pytest.approx(0.0) and upright.size == pytest.approx(2 * 80 * 1.25)
    lying = roi_from_alignment(np.array([100.0, 200.0]), np.array([180.0, 200.0]))  # head to the right
    assert lying.angle == pytest.approx(np.pi / 2)
    np.testing.assert_allclose(lying.to_image(np.array([0.5, 0.0])), [100 + lying.size / 2, 200], atol=1e-6)
    boxed = roi_from_box(np.array([10.0, 20.0, 50.0, 120.0]))
    np.testing.assert_allclose(boxed.centre, [30, 70]) and boxed.size == pytest.approx(125.0)


def test_tiles_cover_the_image_with_half_overlap():
    tiles = np.array(tile_regions(640, 427, 1))
    assert (tiles[:, 2] - tiles[:, 0] == 320).all() and (tiles[:, 3] - tiles[:, 1] == 320).all()
    assert tiles[:, 0].min() == 0 and tiles[:, 2].max() == 640 and tiles[:, 1].min() == 0 and tiles[:, 3].max() == 427
    assert sorted(set(tiles[:, 0])) == [0, 160, 320]
    assert len(tile_regions(640, 427, 2)) == len(tiles) + 7 * 5  # level 2: 160 px tiles, 7 × 5 of them
    quarter = np.array(tile_regions(640, 427, 2, overlap=0.25))[len(tiles):]  # 160 px tiles, steps ≤ 120 px
    assert len(quarter) == 5 * 4 and sorted(set(quarter[:, 0])) == [0, 120, 240, 360, 480]
    assert quarter[:, 3].max() == 427 and (np.diff(sorted(set(quarter[:, 1]))) <= 120).all()


def test_padded_tiles_reach_half_a_tile_past_every_border():
    tiles = np.array(tile_regions(640, 427, 1, pad=0.5))
    assert tiles[:, 0].min() == -160 and tiles[:, 2].max() == 800 and tiles[:, 1].min() == -160 and tiles[:, 3].max() == 587
    steps = np.diff(sorted(set(tiles[:, 0])))
    assert (steps <= 160).all()  # still overlapping by half


def test_letterbox_of_a_region_past_the_border_is_padded_black():
    image = np.full((100, 200, 3), 255, np.uint8)
    square, frame = letterbox(image, 100, region=(-50, -50, 50, 50))  # the image's top-left corner in the middle
    assert frame.scale == pytest.approx(1.0)
    assert square[:50, :].max() == 0 and square[:, :50].max() == 0 and square[50:, 50:].min() == 255
    np.testing.assert_allclose(frame.to_image(np.array([0.5, 0.5])), [0, 0])


def test_face_proposes_an_upright_person_roi_below_it():
    from hmr_flow.detection.faces import ROI_DROP, ROI_SIDE, person_roi

    roi = person_roi(np.array([100.0, 50.0, 110.0, 58.0]))  # a 10 px face centred at (105, 54)
    assert roi.angle == 0.0 and roi.size == pytest.approx(ROI_SIDE * 10)
    np.testing.assert_allclose(roi.centre, [105, 54 + ROI_DROP * 10])


def test_match_boxes_pairs_best_overlaps_one_to_one():
    reference = np.array([[0, 0, 10, 10], [20, 0, 30, 10], [100, 100, 110, 110]], np.float64)
    found = np.array([[21, 0, 31, 10], [0, 0, 10, 12], [1, 0, 11, 10], [200, 200, 210, 210]], np.float64)
    # IoUs: ref0–found1 10/12 = 0.833, ref0–found2 90/110 = 0.818, ref1–found0 90/110 = 0.818
    assert match_boxes(reference, found, 0.3) == [(0, 1), (1, 0)]
    assert match_boxes(reference, found, 0.83) == [(0, 1)]
    assert match_boxes(reference, found[:0], 0.3) == []
