"""Spectral regressor on 10 nm spectra (issue 15): STFT frames counted in bands against frames
given in nanometres.

Trains the regressor on the synthetic soil library resampled to 10 nm bands (350–2500 nm, the
band spacing of many imaging spectrometers) with each frame setting given on the command line,
and prints the validation R² of the CNN beside PLS (same split, same processed spectra), the
anchor: each line gives the CNN's R² as a ratio to PLS's.

A setting is ``L/S`` (frame length / step in bands, as FRAME_LENGTH/FRAME_STEP) or ``auto``
(the default: FRAME_LENGTH_NM/FRAME_STEP_NM, 64/32 nm, converted by the band spacing, at least
8 bands per frame).

Issue 15, 1350 spectra, seed 0, split seed 42 (validation R², CNN / PLS):
64/32 bands (the earlier default) 0.919 / 0.962; 6/3 bands (64/32 nm) 0.926 / 0.962;
8/4 bands 0.955 / 0.962 (hence at least 8 bands per converted frame).

Run: $ENGINE benchmarks/bench_spectral_frames.py [--count 400] [--epochs 60] [--frames auto]
(``make bench``: 400 spectra, 60 epochs, the default frames only (at 10 nm they are 8/4 bands);
``make bench-full``: the figures above, 1350 spectra, 300 epochs, 64/32,8/4,auto.)
"""
import argparse
import time

from _bootstrap import ROOT, print_machine, sized  # noqa: F401,E402  (puts this checkout on sys.path as deepprospect)

import numpy as np  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=sized(400, 1350))
    parser.add_argument("--epochs", type=int, default=sized(60, 300))
    parser.add_argument("--frames", default=sized("auto", "64/32,8/4,auto"))
    arguments = parser.parse_args()
    print_machine("Spectral regressor on 10 nm spectra: STFT frames in bands vs in nm ({} spectra, {} epochs)".format(
        arguments.count, arguments.epochs))
    from deepprospect.core import synthetic_spectra
    from deepprospect.core.spectral_preprocessing import PreprocessSettings
    from deepprospect.models import spectral_regressor

    table, _ = synthetic_spectra.generate_soil_library(arguments.count, seed=0,
                                                       wavelengths=np.arange(350.0, 2501.0, 10.0))
    # 31 nm is 3 bands at 10 nm: the window is given as 50 nm (5 bands) so only the frames differ
    settings = PreprocessSettings(window_nm=50.0)
    for setting in arguments.frames.split(","):
        frames = {} if setting == "auto" else dict(zip(("frame_length", "frame_step"), map(int, setting.split("/"))))
        start = time.perf_counter()
        result = spectral_regressor.train_spectral_regressor(table, "Sb", settings, epochs=arguments.epochs,
                                                             seed=42, **frames)
        metrics, used = result["metrics"], result["metadata"]["hyperparameters"]
        cnn, pls = metrics["CNN"]["r2_validation"], metrics["PLS"]["r2_validation"]
        print("frames {:>6s} ({} / {} bands): CNN R² {:.3f} (log {:.3f}) = {:.2f} × PLS R² {:.3f} (log {:.3f}), "
              "{} epochs, {:.0f} s".format(setting, used["frame_length"], used["frame_step"], cnn,
                                           metrics["CNN"]["r2_log_validation"], cnn / pls, pls,
                                           metrics["PLS"]["r2_log_validation"], metrics["CNN"]["epochs"],
                                           time.perf_counter() - start), flush=True)


if __name__ == "__main__":
    main()
