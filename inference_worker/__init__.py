"""The inference worker: a separate process that pre-labels images and retrains the detector.

It imports labelhub_app's models, services and adapters, never Reflex. ``__main__`` (the poll
loop's command line), ``worker`` (claim, heartbeat, complete / fail / release, SIGTERM),
``handlers`` (auto-label and training jobs), ``detector`` (build, save, load, predict),
``train``, ``evaluate`` (pycocotools AP / AP50 / AP75) and ``synthetic`` (generated shapes).
Its heavy dependencies (torch, torchvision, pycocotools) are in inference_worker/requirements.txt,
installed apart from the app; ``detector`` and ``train`` import torch, the other modules only
when a job needs it (``synthetic`` is numpy + Pillow, for tests and benchmarks).
"""
