"""Video: frames read and written one at a time (:mod:`~hmr_flow.video.frames`), and the people of
consecutive frames linked into tracks (:mod:`~hmr_flow.video.tracking`)."""

from hmr_flow.video.frames import VideoInfo, VideoReadError, is_pattern, read_frames, video_info, write_video
from hmr_flow.video.tracking import Track, TrackerSettings, track_people

__all__ = ["Track", "TrackerSettings", "VideoInfo", "VideoReadError", "is_pattern", "read_frames", "track_people",
           "video_info", "write_video"]
