"""The Qt layer: main window, the one worker pattern, and the four tabs."""
