"""ferdesk: live facial-expression recognition on laptops and edge boards."""
import os as _os

# Library chatter on stderr (FFmpeg demuxer notes, V4L2 probing, LiteRT delegate banners)
# would bury ferdesk's own one-line errors; these must be set before cv2/LiteRT load.
_os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
_os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
_os.environ.setdefault("OPENCV_VIDEOIO_DEBUG", "0")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
