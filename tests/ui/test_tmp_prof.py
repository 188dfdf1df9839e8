import cProfile, pstats
import test_watchdog as W

def test_prof(make_window, podcast, tmp_path, qtbot):
    pr = cProfile.Profile()
    pr.enable()
    try:
        W.test_main_thread_never_stalls_while_rendering_and_exporting(make_window, podcast, tmp_path, qtbot)
    except AssertionError as e:
        print(e)
    pr.disable()
    pstats.Stats(pr).sort_stats("tottime").print_stats(25)
