"""The main job end to end on the embedded default data: ``neurokit demo``.

It runs the whole toolkit, offline, on a simulated NSD-like cohort whose
ground truth is known, and writes a report a scientist would read. One
module per stage gives its computation and its report section:

1. ``cohort`` (:mod:`.cohort`): simulate 8 subjects on fsaverage5 and write
   them in the NSD layout (the real :class:`neurokit.datasets.NSD` reader
   loads them back);
2. ``features`` (:mod:`.features`): EfficientNet-Lite0 features of every
   stimulus, read from the NSD stimulus file;
3. ``encoders`` (:mod:`.encoders`): a :class:`encoding.RidgeEncoder` per
   subject on its own training images, scored on the shared test images
   against noise ceilings;
4. ``ensemble`` (:mod:`.ensemble`): a
   :class:`encoding.PersonalizedEnsembleEncoder` for the last subject from
   the other subjects' encoders and only ``--ensemble-images`` of its images,
   compared with its full-data ridge encoder and with ridge on the same few
   images;
5. ``neurogen`` (:mod:`.synthesis`): images that maximise that subject's
   face, body and place ROIs through its personalized encoder, compared with
   the best natural images on predicted *and* ground-truth responses;
6. ``replicates`` (:mod:`.replicates`) and ``claims`` (:mod:`.claims`): the
   same measurements on further world seeds, and every claim over all of them;
7. ``cortex2image`` (:mod:`.reconstruction`): Cortex2Image trained for that
   subject, then its test images reconstructed from its fMRI files;
8. ``report`` (:mod:`.report`): ``report.html`` with figures and
   ``report.json`` with every number.

The settings (:mod:`.settings`), the runner with its stage records and cache
of shared objects (:mod:`.runner`), the stage order with :func:`run_demo`
(:mod:`.pipeline`) and the command line (:mod:`.cli`) are apart.

Every stage stores its results under ``<output>/stages``; a second run with the
same settings reuses what the first finished (``--force`` redoes everything).
Long stages also resume inside: ``features`` per chunk of stimuli (through a
:class:`encoding.feature_store.FeatureStore`),
``encoders`` per subject, ``cortex2image`` per training epoch (the
:class:`neurokit.training.Trainer`'s checkpoints), so a run stopped anywhere
(Ctrl-C, ``kill``, a lost node) continues where it stopped and ends with the
same ``report.json`` as an uninterrupted run. ``<output>`` must be new, empty
or an earlier demo output (it holds ``.neurokit-output.json``).
The subpackage sits at the top of the dependency chain (it uses every package),
which is why it lives in ``cortex2image``.
"""

from cortex2image.demo.cli import add_arguments, command, register, settings_from_args
from cortex2image.demo.pipeline import STAGES, run_demo
from cortex2image.demo.runner import STAGE_DEPENDS, DemoRun, Stage
from cortex2image.demo.settings import REPORT_ROIS, VISUAL_ROIS, DemoSettings, check_settings, metric_network_files

__all__ = [
    "DemoSettings",
    "DemoRun",
    "Stage",
    "STAGES",
    "STAGE_DEPENDS",
    "REPORT_ROIS",
    "VISUAL_ROIS",
    "run_demo",
    "check_settings",
    "metric_network_files",
    "add_arguments",
    "settings_from_args",
    "command",
    "register",
]
