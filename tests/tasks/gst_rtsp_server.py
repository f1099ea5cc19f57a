"""An RTSP server for ``tests/tasks/test_live.py``, as an IP camera is one: GStreamer's
gst-rtsp-server serves an H.264 mp4 at ``rtsp://127.0.0.1:PORT/live``, at the video's own
frame rate, from its first frame for each client, and ends the stream (RTCP BYE) at the
file's end. ffmpeg can send RTSP but not serve it, hence GStreamer.

Run it with a Python that has the GObject bindings of Debian's packages (``GST_PACKAGES``
in test_live.py; ``.ci/run`` installs them), not the project's venv: ``/usr/bin/python3
gst_rtsp_server.py VIDEO.mp4 PORT``. It prints ``ready`` once it listens, and runs until killed.
"""
import sys

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main(video: str, port: str) -> None:
    Gst.init(None)
    server = GstRtspServer.RTSPServer.new()
    server.set_address('127.0.0.1')
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory.new()
    factory.set_launch(f'( filesrc location="{video}" ! qtdemux ! h264parse ! '
                       'rtph264pay name=pay0 pt=96 config-interval=-1 )')
    factory.set_shared(False)  # each client's stream starts at the first frame
    server.get_mount_points().add_factory('/live', factory)
    if not server.attach(None):
        sys.exit(f'cannot listen on 127.0.0.1:{port}')
    print('ready', flush=True)
    GLib.MainLoop().run()


if __name__ == '__main__':
    main(*sys.argv[1:3])
