"""The course's machinery: what the chapters use but do not teach.

* ``isolated`` -- run a function of the package in a fresh Python process (the one runner);
* ``measure`` -- images per second and memory of input pipelines and of a training step;
* ``persistence`` -- saving and loading weights and whole models, atomically.

The taught layer (:mod:`vaecourse`) never imports from here; the kit builds on it.
"""
