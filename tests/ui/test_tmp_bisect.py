import time
from studio.ui.qt_document import QtDocument
from studio.ui.qt_render_controller import QtRenderController
from ui_fakes import FakeEngineClient

def test_a(qtbot, podcast):
    doc = QtDocument.open(podcast)
    c = QtRenderController(doc, lambda b, o: FakeEngineClient(b, o))
    c.render_stale()
    while c.busy:
        c.poll()
        time.sleep(0.01)
    c._timer.stop(); c._place_timer.stop()
    c.client.shutdown()
    doc.close()
