import time, functools, sys
sys.setswitchinterval(0.001)
from test_watchdog import *  # noqa
import studio.ui.qt_render_controller as rc, studio.ui.qt_timeline_model as tm, studio.ui.qt_timeline_canvas as tc
import studio.ui.qt_script_panel as sp, studio.ui.qt_main_window as mw, studio.ui.qt_export_dialog as ed
import studio.ui.qt_timeline as tl, studio.ui.qt_inspector as ins, studio.ui.qt_peak_store as ps, studio.ui.qt_mixer as mx
import studio.ui.qt_track_headers as th
from PySide6.QtWidgets import QTableView

def wrap(cls, name):
    f = getattr(cls, name)
    @functools.wraps(f)
    def g(*a, **k):
        t = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            d = (time.perf_counter() - t) * 1000
            if d > 15:
                print(f"{time.perf_counter():.3f} SLOW {cls.__name__}.{name} {d:.0f} ms")
    setattr(cls, name, g)

for cls, names in [(rc.QtRenderController, ["poll", "place", "render", "_on_started"]), (tm.QtTimelineModel, ["_flush"]),
                   (tc.QtTimelineCanvas, ["paintEvent"]), (sp.QtScriptModel, ["_on_change"]), (mw.QtMainWindow, ["_push_snapshot", "export_dialog"]),
                   (ed.QtExportDialog, ["_poll", "start"]), (tl.QtTimelinePanel, ["_sync_hbar", "zoom_fit"]), (ins.QtInspector, ["refresh"]),
                   (ps.QtPeakStore, ["_drain"]), (th.QtTrackHeaders, ["rebuild"]), (mx.QtMixerPanel, ["rebuild"])]:
    for n in names:
        wrap(cls, n)

import test_watchdog as W
_orig = W.QElapsedTimer
