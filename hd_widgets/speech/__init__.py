"""Stage 1, speech: recordings of a sustained vowel, WORLD, and the feature space.

corpus (a folder of WAV/FLAC files) -> world (F0, envelope, aperiodicity) -> space
(PCA of the log envelope, d dimensions; any point back to one second of audio).
recordings (is a take from the microphone usable?) and class_corpus (a class's kept takes,
in a folder ``Corpus.from_folder`` reads).
Imports nothing else from hd_widgets.
"""
from .._lazy import lazy_names

__getattr__, __dir__, __all__ = lazy_names(__name__, {
    "Clip": "corpus", "Corpus": "corpus", "CorpusError": "corpus", "read_audio": "corpus",
    "DEFAULT_CORPUS": "corpus",
    "Analysis": "world", "analyse": "world", "synthesise": "world", "stable_frames": "world",
    "FeatureSpace": "space", "CorpusAnalysis": "analysis", "analyse_corpus": "analysis",
    "cache_dir": "analysis", "limit": "space",
    "RecordingCheck": "recordings", "RecordingLimits": "recordings",
    "check_recording": "recordings", "decode_take": "recordings", "to_wav": "recordings",
    "hold": "recordings", "ClassRecordings": "class_corpus", "check_name": "class_corpus",
})
