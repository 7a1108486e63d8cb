"""The inference worker: a separate process that pre-labels images and retrains the detector.

It imports labelhub_app's models, services and adapters, never Reflex. The job queue, the
detector and the training loop come with the auto-labelling issue; its heavy dependencies
(torch, torchvision) are in inference_worker/requirements.txt, installed apart from the app.
"""
